"""No credential in any log line: API keys (right and wrong), calendar subscription tokens
(which are the whole credential of a feed URL), webhook signing secrets. Paths are logged by
route template (``/v1/calendars/{token}.ics``), in access lines, error lines and a forced 500
alike. Checked at DEBUG, in this process (caplog: the API, its error handlers and a worker
delivering to failing receivers) and in a served `registry serve` process's output."""

import logging
from collections.abc import Iterable

import pytest
from httpx import ASGITransport, AsyncClient

import api.calendars
from services.database import get_database
from services.observability.logs import QUIET_LOGGERS
from tests.conftest import TEST_DATABASE_URL, committed_admin_key
from tests.factories import make_network
from tests.live_api import api_environment, live_api
from tests.served_app import served_app
from tests.stub_worker import broker, drain
from tests.webhook_receiver import Receiver

FEED_TEMPLATE = "/v1/calendars/{token}.ics"


def _secret_forms(secrets: Iterable[str]) -> list[str]:
    """Each secret, and the part after its prefix (a log could carry that part alone)."""
    forms = []
    for secret in secrets:
        forms.append(secret)
        for prefix in ("mnr_", "mnrcal_", "whsec_"):
            if secret.startswith(prefix):
                forms.append(secret[len(prefix) :])
    return [form for form in forms if len(form) >= 16]


def _everything_logged(records: list[logging.LogRecord]) -> str:
    """Each record's message, arguments, traceback and extra fields, as text."""
    formatter = logging.Formatter()
    parts = []
    for record in records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info:
            parts.append(formatter.formatException(record.exc_info))
        parts.extend(repr(value) for value in vars(record).values())
    return "\n".join(parts)


async def _network_id() -> str:
    async with get_database().session() as session:
        return str((await make_network(session))["id"])


async def _exercise(client: AsyncClient, anonymous: AsyncClient, receiver_urls: list[str]) -> list[str]:
    """Use every kind of credential, rightly and wrongly; returns the secrets that were used."""
    used = []
    created = await client.post("/v1/api-keys", json={"name": "log check", "role": "reader"})
    assert created.status_code == 201, created.text
    reader_key = created.json()["key"]
    used.append(reader_key)
    as_reader = {"Authorization": f"Bearer {reader_key}"}
    assert (await anonymous.get("/v1/networks", headers=as_reader)).status_code == 200
    assert (await anonymous.post("/v1/entities", json={}, headers=as_reader)).status_code == 403
    wrong_key = "mnr_" + "0" * 8 + "_" + "W" * 43
    used.append(wrong_key)
    assert (await anonymous.get("/v1/networks", headers={"Authorization": f"Bearer {wrong_key}"})).status_code == 401

    network_id = await _network_id()
    subscription = await anonymous.post(
        "/v1/calendar-subscriptions",
        json={"name": "log check", "scope": "network", "subject_id": network_id},
        headers=as_reader,
    )
    assert subscription.status_code == 201, subscription.text
    feed_path = "/v1/calendars/" + subscription.json()["url"].split("/v1/calendars/", 1)[1]
    token = feed_path.removeprefix("/v1/calendars/").removesuffix(".ics")
    used.append(token)
    assert (await anonymous.get(feed_path)).status_code == 200
    wrong_token = "mnrcal_" + "X" * 40
    used.append(wrong_token)
    assert (await anonymous.get(f"/v1/calendars/{wrong_token}.ics")).status_code == 404

    for url in receiver_urls:
        endpoint = await client.post("/v1/webhook-endpoints", json={"url": url, "event_types": ["entity.*"]})
        assert endpoint.status_code == 201, endpoint.text
        used.append(endpoint.json()["secret"])
        rotated = await client.post(f"/v1/webhook-endpoints/{endpoint.json()['id']}/rotate-secret")
        used.append(rotated.json()["secret"])
    return used


@pytest.fixture
def failing_receivers():
    """One receiver answering 500, and a port where nothing listens any more."""
    answering = Receiver(script=[500, 500, 500])
    gone = Receiver()
    gone.close()
    yield [answering.url, gone.url]
    answering.close()


async def test_no_credential_reaches_a_log_line_in_process(committed, failing_receivers, caplog, monkeypatch):
    for name, level in QUIET_LOGGERS.items():  # as every process sets them (httpx: request URLs)
        caplog.set_level(level, logger=name)
    caplog.set_level(logging.DEBUG)  # last: it sets the capturing handler's level too
    admin_key = await committed_admin_key()
    app = served_app()
    client = AsyncClient(
        transport=ASGITransport(app=app), base_url="http://t", headers={"Authorization": f"Bearer {admin_key}"}
    )
    # raise_app_exceptions off: a forced 500 is answered, not raised into the test
    anonymous = AsyncClient(transport=ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t")
    broker.flush_all()
    async with client, anonymous:
        used = [admin_key, *await _exercise(client, anonymous, failing_receivers)]
        token = used[3]

        async def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the feed could not be built")

        monkeypatch.setattr(api.calendars, "calendar_response", broken)
        failed = await anonymous.get(f"/v1/calendars/{token}.ics")
        assert failed.status_code == 500
        await client.post("/v1/entities", json={"acronym": "LOGS", "name": "Logged", "kind": "un_system"})
        await drain(threads=2)
    logged = _everything_logged(caplog.records)
    assert f"unhandled error on GET {FEED_TEMPLATE}" in logged  # the 500, by its route
    assert f"GET {FEED_TEMPLATE} 404" in logged and f"GET {FEED_TEMPLATE} 200" in logged  # access lines
    assert "webhook delivery" in logged  # the failures reached the operator's log
    for secret in _secret_forms(used):
        assert secret not in logged, f"a credential was logged: {secret[:12]}…"


async def test_no_credential_reaches_a_served_process_log(committed, tmp_path):
    """`registry serve` at DEBUG, every line it writes (uvicorn's included) read back."""
    admin_key = await committed_admin_key()
    env = api_environment(
        DATABASE_URL=TEST_DATABASE_URL,
        LOG_LEVEL="DEBUG",
        LOG_FORMAT="json",
        WEBHOOK_ALLOWED_PRIVATE_HOSTS='["127.0.0.1"]',
    )
    log = tmp_path / "serve.log"
    receiver = Receiver()
    try:
        with live_api(env, log) as url:
            async with (
                AsyncClient(base_url=url, headers={"Authorization": f"Bearer {admin_key}"}) as client,
                AsyncClient(base_url=url) as anonymous,
            ):
                used = [admin_key, *await _exercise(client, anonymous, [receiver.url])]
    finally:
        receiver.close()
    output = log.read_text()
    assert FEED_TEMPLATE in output and '"level":"DEBUG"' in output.replace(" ", "")
    for secret in _secret_forms(used):
        assert secret not in output, f"a credential was logged: {secret[:12]}…"
