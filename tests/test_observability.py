"""Logs and metrics in one process: the JSON log format (one object per line, with the access
line's fields), the readable text format, request metrics by route template, and secrets
that never reach the logs — an API key, a webhook secret and an SMTP password, through the
real flows that handle them (the API, a webhook signed and sent to a real receiver, an
e-mail sent through a real SMTP server that asks for a login), at DEBUG."""

import io
import json
import logging
import socket
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from httpx import ASGITransport, AsyncClient
from prometheus_client import REGISTRY

from services.database import get_database
from services.observability.logs import HANDLER_NAME, configure_logging
from services.settings import get_settings, use_settings
from tests.conftest import committed_admin_key
from tests.factories import make_network
from tests.served_app import served_app
from tests.smtp_server import Inbox, smtp_server
from tests.stub_worker import broker, drain
from tests.webhook_receiver import Receiver

SMTP_USER = "registry-mailer"
SMTP_PASSWORD = "s3cret-smtp-Pa55word"


@pytest.fixture
def captured_logs():
    """The process's log output in ``format``, at DEBUG, into a buffer; restored afterwards."""
    root = logging.getLogger()
    level = root.level
    buffers: list[io.StringIO] = []

    def capture(log_format: str, level: str = "DEBUG") -> io.StringIO:
        buffer = io.StringIO()
        configure_logging(level=level, log_format=log_format, stream=buffer)
        buffers.append(buffer)
        return buffer

    yield capture
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    root.setLevel(level)


def consultation(network_id) -> dict:
    """A meeting in ten days with one external invitee: its invitation is an e-mail."""
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    return {
        "network_id": str(network_id),
        "kind": "other",
        "title": "Consultation",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=1)).isoformat(),
        "time_zone": "UTC",
        "location": "Geneva",
        "invitees": [{"name": "Migrant Forum", "email": "mf@example.org"}],
    }


@pytest.fixture
def smtp_with_login():
    """aiosmtpd that accepts only SMTP_USER / SMTP_PASSWORD, and the settings that use it."""
    inbox = Inbox()

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == SMTP_USER.encode()
            and auth_data.password == SMTP_PASSWORD.encode()
        )
        if ok:
            inbox.logins.append(auth_data.login)
        return AuthResult(success=ok)

    with smtp_server(inbox, authenticator=authenticator, auth_require_tls=False) as (_, port):
        previous = get_settings()
        use_settings(
            previous.model_copy(
                update={
                    "smtp_host": "127.0.0.1",
                    "smtp_port": port,
                    "smtp_username": SMTP_USER,
                    "smtp_password": SMTP_PASSWORD,
                }
            )
        )
        yield inbox
        use_settings(previous)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _lines(buffer: io.StringIO) -> list[dict]:
    """Every line parses as one JSON object (the test fails on any that does not)."""
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


async def test_the_json_access_line_has_the_request_id_principal_route_status_and_duration(app, client, captured_logs):
    logs = captured_logs("json", level="INFO")
    request_id = f"req-{uuid.uuid4().hex}"
    missing = uuid.uuid4()
    response = await client.get(f"/v1/entities/{missing}", headers={"X-Request-ID": request_id})
    assert response.status_code == 404 and response.headers["x-request-id"] == request_id
    [access] = [line for line in _lines(logs) if line["logger"] == "api.access"]
    assert access["request_id"] == request_id
    assert access["level"] == "INFO" and access["message"].startswith("GET /v1/entities/{entity_id} 404")
    assert access["route"] == "/v1/entities/{entity_id}" and str(missing) not in json.dumps(access)
    assert access["status"] == 404 and access["method"] == "GET" and access["duration_ms"] > 0
    assert access["principal"].startswith("key:")
    assert datetime.fromisoformat(access["time"]).tzinfo is not None

    # The same request counted by its route template, never by its raw path.
    count = REGISTRY.get_sample_value(
        "registry_http_requests_total", {"method": "GET", "route": "/v1/entities/{entity_id}", "status": "404"}
    )
    assert count is not None and count >= 1
    unknown = await client.get(f"/no/such/{uuid.uuid4()}")
    assert unknown.status_code == 404
    assert (
        REGISTRY.get_sample_value(
            "registry_http_request_duration_seconds_count", {"method": "GET", "route": "unmatched", "status": "404"}
        )
        or 0
    ) >= 1


async def test_the_text_format_reads_as_a_line_with_the_request_id(app, client, captured_logs):
    logs = captured_logs("text", level="INFO")
    response = await client.get("/v1/networks", headers={"X-Request-ID": "text-format-1"})
    assert response.status_code == 200
    [line] = [line for line in logs.getvalue().splitlines() if " api.access: " in line]
    assert "INFO api.access: GET /v1/networks 200" in line and line.endswith("[request text-format-1]")
    assert not line.startswith("{")


async def test_an_api_key_a_webhook_secret_and_an_smtp_password_never_reach_the_logs(
    committed, receiver, smtp_with_login, captured_logs
):
    logs = captured_logs("json")  # DEBUG: the most a misconfigured deployment could write
    admin = AsyncClient(
        transport=ASGITransport(app=served_app()),
        base_url="http://t",
        headers={"Authorization": f"Bearer {await committed_admin_key()}"},
    )
    async with get_database().session() as session:
        network = await make_network(session)

    # An API key: made, then used, then a near miss of it refused.
    made = await admin.post("/v1/api-keys", json={"name": "Portal", "role": "integrator"})
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    used = await admin.get("/v1/networks", headers={"Authorization": f"Bearer {key}"})
    assert used.status_code == 200
    near_miss = key[:-4] + "AAAA"
    assert (await admin.get("/v1/networks", headers={"Authorization": f"Bearer {near_miss}"})).status_code == 401

    # A webhook secret: made, then used to sign a delivery a real receiver gets.
    endpoint = await admin.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["meeting.*"]})
    assert endpoint.status_code == 201, endpoint.text
    secret = endpoint.json()["secret"]

    # The SMTP password: the invitation this meeting causes is sent after logging in with it.
    broker.flush_all()
    meeting = await admin.post("/v1/meetings", json=consultation(network["id"]))
    assert meeting.status_code == 201, meeting.text
    from worker.events import relay_events

    await drain(threads=2, then=relay_events.send)
    await admin.aclose()
    assert len(receiver.requests) == 1 and receiver.requests[0]["headers"]["webhook-signature"]
    assert len(smtp_with_login.messages) == 1 and smtp_with_login.logins == [SMTP_USER.encode()]

    lines = _lines(logs)
    loggers = {line["logger"] for line in lines}
    assert {"api.access", "worker.webhooks", "worker.mail"} <= loggers, loggers  # the flows did log
    text = logs.getvalue()
    for what, value in (
        ("the API key", key),
        ("the API key's secret part", key.split("_", 2)[2]),
        ("the refused near miss", near_miss.split("_", 2)[2]),
        ("the webhook secret", secret),
        ("the webhook secret's key", secret.removeprefix("whsec_")),
        ("the SMTP password", SMTP_PASSWORD),
    ):
        assert value not in text, f"{what} reached the logs"


def test_registry_status_names_what_is_down_and_exits_1(capsys):
    from sqlalchemy import make_url

    from api.cli import main
    from tests.conftest import TEST_DATABASE_URL

    with socket.socket() as probe:  # a port nothing listens on: the broker is "down"
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    missing = make_url(TEST_DATABASE_URL).set(database="registry_no_such_database")
    previous = get_settings()
    use_settings(
        previous.model_copy(
            update={
                "database_url": missing.render_as_string(hide_password=False),
                "broker_url": f"amqp://guest:guest@127.0.0.1:{closed}/",
            }
        )
    )
    try:
        with pytest.raises(SystemExit) as exited:
            main(["status", "--json"])
        report = json.loads(capsys.readouterr().out)
        assert exited.value.code == 1 and report["ok"] is False
        assert report["database"]["status"] == "down" and "registry_no_such_database" in report["database"]["error"]
        assert report["broker"]["status"] == "down" and report["migrations"]["status"] == "unknown"
        assert "guest:guest" not in json.dumps(report)  # the broker's password is masked
        with pytest.raises(SystemExit):
            main(["status"])
        readable = capsys.readouterr().out
        assert "NOT OK" in readable and "database     down" in readable and "broker       down" in readable
    finally:
        use_settings(previous)


async def test_registry_deliveries_lists_failed_ones_and_replays_them_under_the_same_id(
    committed, receiver, capsys, tmp_path
):
    import asyncio

    from sqlalchemy import update

    from api.cli import main
    from services.delivery_status import DeliveryStatus
    from services.mail.models import EmailDelivery
    from services.webhooks.models import WebhookDelivery
    from worker.events import relay_events
    from worker.mail import send_mails
    from worker.webhooks import send_deliveries

    previous = get_settings()
    use_settings(previous.model_copy(update={"data_dir": tmp_path}))  # e-mail into .eml files
    try:
        admin = AsyncClient(
            transport=ASGITransport(app=served_app()),
            base_url="http://t",
            headers={"Authorization": f"Bearer {await committed_admin_key()}"},
        )
        async with get_database().session() as session:
            network = await make_network(session)
        endpoint = await admin.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["meeting.*"]})
        meeting = await admin.post("/v1/meetings", json=consultation(network["id"]))
        assert meeting.status_code == 201, meeting.text
        await admin.aclose()
        broker.flush_all()
        await drain(threads=2, then=relay_events.send)
        assert len(receiver.requests) == 1
        # As if every retry had failed.
        async with get_database().session() as session:
            await session.execute(update(WebhookDelivery).values(status=DeliveryStatus.FAILED, last_error="HTTP 503"))
            await session.execute(update(EmailDelivery).values(status=DeliveryStatus.FAILED, last_error="SMTP down"))

        await asyncio.to_thread(main, ["deliveries", "list", "--json"])
        failed = json.loads(capsys.readouterr().out)
        [webhook] = failed["webhook"]
        [mail] = failed["email"]
        assert webhook["endpoint_id"] == endpoint.json()["id"] and webhook["last_error"] == "HTTP 503"
        assert webhook["request_id"] == meeting.headers["x-request-id"] and mail["recipient"] == "mf@example.org"
        await asyncio.to_thread(main, ["deliveries", "list"])
        assert "Failed webhook deliveries: 1" in capsys.readouterr().out

        await asyncio.to_thread(main, ["deliveries", "replay", "--id", webhook["id"], "--emails", "--json"])
        replayed = json.loads(capsys.readouterr().out)
        assert replayed["webhook"] == [webhook["id"]] and replayed["email"] == [mail["id"]]

        # The scheduler's sweeps hand them to the workers; the receiver sees the same webhook-id.
        await send_deliveries()
        await send_mails()
        await drain(threads=2)
        assert [r["headers"]["webhook-id"] for r in receiver.requests] == [webhook["webhook_id"]] * 2
        async with get_database().read() as conn:
            from sqlalchemy import select

            assert (await conn.scalar(select(EmailDelivery.status))) == DeliveryStatus.SUCCEEDED
        # The replay is in the audit log under the request id the command printed.
        await asyncio.to_thread(main, ["trace", replayed["request_id"], "--json"])
        trace = json.loads(capsys.readouterr().out)
        assert [(e["action"], e["principal_id"]) for e in trace["audit"]] == [
            ("webhook_endpoint.replayed", "system:registry-cli")
        ]
    finally:
        use_settings(previous)
