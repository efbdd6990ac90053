"""Limits at the edge: body size (413), per-caller rate and failed authentications per
address and key prefix and unknown calendar URLs per address (429 + Retry-After), and no
secret in any log line. Counted in Redis across processes: test_limit_store.py and
tests/integration/test_limits_replicas.py."""

import logging
import secrets

import pytest
from httpx import ASGITransport, AsyncClient
from prometheus_client import REGISTRY

from api.limit_store import LocalLimitStore
from api.limits import Limits, TooManyRequests
from services.errors import Unauthenticated
from services.settings import get_settings
from tests.factories import make_network


async def test_a_body_over_the_limit_is_a_413_whether_announced_or_streamed(client):
    limit = get_settings().max_body_bytes
    big = {"acronym": "BIG", "name": "x" * 10, "kind": "un_system", "padding": "y" * (limit + 10)}
    response = await client.post("/v1/entities", json=big)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/payload-too-large"

    async def chunks():
        yield b'{"acronym": "BIG", "name": "'
        for _ in range(limit // 65536 + 2):
            yield b"z" * 65536
        yield b'", "kind": "un_system"}'

    streamed = await client.post("/v1/entities", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413
    assert streamed.json()["type"] == "/problems/payload-too-large"
    assert streamed.json()["detail"] == f"The request body is larger than {limit} bytes."

    # In the caller's language, either way.
    french = await client.post("/v1/entities", json=big, headers={"Accept-Language": "fr"})
    assert french.json()["detail"] == f"Le corps de la requête dépasse {limit} octets."
    assert french.json()["title"] == "Requête trop volumineuse" and french.headers["content-language"] == "fr"
    chinese = await client.post(
        "/v1/entities", content=chunks(), headers={"content-type": "application/json", "Accept-Language": "zh"}
    )
    assert chinese.status_code == 413 and chinese.json()["detail"] == f"请求正文超过 {limit} 字节。"


def use_limits(app, **settings) -> Limits:
    """The app's limits with ``settings``, counted in a fresh store of this process's own."""
    app.state.limits = Limits(LocalLimitStore(), get_settings().model_copy(update=settings))
    return app.state.limits


def from_address(app, address: str, credential: str | None = None) -> AsyncClient:
    """A client whose requests come from ``address`` (the peer address the server sees)."""
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    transport = ASGITransport(app=app, client=(address, 40000))
    return AsyncClient(transport=transport, base_url="http://registry.test", headers=headers)


def wrong_key(prefix_hex: str | None = None) -> str:
    return f"mnr_{prefix_hex or secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_caller_over_its_rate_gets_429_with_retry_after(app, make_client):
    use_limits(app, rate_limit_per_minute=60, rate_limit_burst=3)
    busy = await make_client("reader")
    calm = await make_client("reader")
    statuses = [(await busy.get("/v1/gcm/objectives")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = await busy.get("/v1/gcm/objectives")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["type"] == "/problems/rate-limited"
    assert (await calm.get("/v1/gcm/objectives")).status_code == 200  # per caller


async def test_failed_logins_from_one_address_are_refused_but_other_addresses_are_not(
    app, make_client, session, caplog
):
    use_limits(app, auth_failures_per_address=5, auth_failure_window_seconds=600)
    caplog.set_level(logging.INFO, logger="api.limits")
    key = (await make_client("reader")).headers["authorization"].removeprefix("Bearer ")
    failures_before = metric("registry_auth_failures_total", kind="api_key")
    guesser = from_address(app, "198.51.100.7")
    statuses = [
        (await guesser.get("/v1/networks", headers={"Authorization": f"Bearer {wrong_key()}"})).status_code
        for _ in range(8)
    ]
    assert statuses == [401] * 5 + [429] * 3
    refused = await guesser.get("/v1/networks", headers={"Authorization": f"Bearer {wrong_key()}"})
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "/problems/too-many-failed-authentications"
    assert "198.51.100.7" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) == 120  # 5 per 600 s: one more every 120 s
    # The address is refused before its credential is looked at, a valid key included.
    assert (await guesser.get("/v1/networks", headers={"Authorization": f"Bearer {key}"})).status_code == 429
    # Another address is not affected, whether its key is valid or not.
    assert (await from_address(app, "198.51.100.8", key).get("/v1/networks")).status_code == 200
    assert (await from_address(app, "198.51.100.8", wrong_key()).get("/v1/networks")).status_code == 401
    assert metric("registry_auth_failures_total", kind="api_key") - failures_before == 6
    noted = [r for r in caplog.records if r.name == "api.limits" and "198.51.100.7" in r.getMessage()]
    assert len(noted) == 1, "one log line per address per window"
    assert "mnr_" not in caplog.text


async def test_malformed_credentials_and_tokens_count_as_failures_too(app):
    use_limits(app, auth_failures_per_address=2)
    guesser = from_address(app, "198.51.100.9")
    before = metric("registry_auth_failures_total", kind="malformed")
    sent = ["not-a-key", "a.b.c", "still-not-a-key"]
    statuses = [(await guesser.get("/v1/networks", headers={"Authorization": f"Bearer {c}"})).status_code for c in sent]
    assert statuses == [401, 401, 429]
    assert metric("registry_auth_failures_total", kind="malformed") - before == 1


async def test_an_identity_provider_outage_is_not_the_callers_failure():
    limits = Limits(LocalLimitStore(), get_settings().model_copy(update={"auth_failures_per_address": 1}))
    outage = Unauthenticated("identity-provider-unavailable", "The identity provider's keys could not be fetched.")
    for _ in range(3):
        await limits.authentication_failed("192.0.2.77", "a.b.c", outage)
    await limits.before_verifying("192.0.2.77", "a.b.c")  # not refused
    await limits.authentication_failed("192.0.2.77", "a.b.c", Unauthenticated("invalid-token", "Not valid."))
    with pytest.raises(TooManyRequests):
        await limits.before_verifying("192.0.2.77", "a.b.c")


async def test_ipv6_addresses_count_by_their_64(app):
    use_limits(app, auth_failures_per_address=2)
    statuses = []
    for host in ("2001:db8:1:1::1", "2001:db8:1:1::2", "2001:db8:1:1:ffff::3"):
        client = from_address(app, host, wrong_key())
        statuses.append((await client.get("/v1/networks")).status_code)
    assert statuses == [401, 401, 429]
    assert (await from_address(app, "2001:db8:1:2::1", wrong_key()).get("/v1/networks")).status_code == 401


async def test_failed_logins_with_one_key_prefix_are_refused_from_any_address(app, make_client):
    use_limits(app, auth_failures_per_address=100, auth_failures_per_key_prefix=3)
    prefix = secrets.token_hex(4)
    statuses = []
    for n in range(5):
        client = from_address(app, f"192.0.2.{n + 1}", wrong_key(prefix))
        statuses.append((await client.get("/v1/networks")).status_code)
    assert statuses == [401, 401, 401, 429, 429]
    refused = await from_address(app, "192.0.2.50", wrong_key(prefix)).get("/v1/networks")
    assert refused.json()["type"] == "/problems/too-many-failed-authentications"
    assert f"mnr_{prefix}" in refused.json()["detail"]
    # Another prefix from the same addresses is still checked (and refused as wrong: 401).
    assert (await from_address(app, "192.0.2.1", wrong_key()).get("/v1/networks")).status_code == 401


async def test_unknown_calendar_urls_are_limited_per_address(app, make_client, session):
    use_limits(app, calendar_failures_per_address=4)
    network = await make_network(session)
    reader = await make_client("reader")
    created = await reader.post(
        "/v1/calendar-subscriptions", json={"name": "Mine", "scope": "network", "subject_id": str(network["id"])}
    )
    assert created.status_code == 201, created.text
    feed = "/v1/" + created.json()["url"].split("/v1/", 1)[1]
    before = metric("registry_auth_failures_total", kind="calendar_token")
    guesser = from_address(app, "203.0.113.20")
    statuses = [
        (await guesser.get(f"/v1/calendars/mnrcal_{secrets.token_urlsafe(32)}.ics")).status_code for _ in range(6)
    ]
    assert statuses == [404] * 4 + [429] * 2
    refused = await guesser.get(feed)  # a live feed too, from that address
    assert refused.status_code == 429
    assert refused.json()["type"] == "/problems/too-many-unknown-calendar-urls"
    assert "retry-after" in refused.headers
    assert (await from_address(app, "203.0.113.21").get(feed)).status_code == 200
    assert metric("registry_auth_failures_total", kind="calendar_token") - before == 4
    # Calendar URLs and API keys are counted apart: the address may still sign in.
    key = reader.headers["authorization"].removeprefix("Bearer ")
    assert (await from_address(app, "203.0.113.20", key).get("/v1/networks")).status_code == 200


async def test_a_calendar_feed_polled_over_its_rate_gets_429_from_any_address(app, make_client, session):
    """A feed's secret URL is a caller of its own: polled faster than the rate allows, from
    whatever addresses, it is refused (429, Retry-After); another feed is not."""
    use_limits(app, rate_limit_per_minute=60, rate_limit_burst=3)
    network = await make_network(session)
    reader = await make_client("reader")
    feeds = []
    for name in ("Busy", "Calm"):
        created = await reader.post(
            "/v1/calendar-subscriptions", json={"name": name, "scope": "network", "subject_id": str(network["id"])}
        )
        assert created.status_code == 201, created.text
        feeds.append("/v1/" + created.json()["url"].split("/v1/", 1)[1])
    busy, calm = feeds
    statuses = [(await from_address(app, f"203.0.113.{n}").get(busy)).status_code for n in range(30, 34)]
    assert statuses == [200, 200, 200, 429]
    limited = await from_address(app, "203.0.113.40").get(busy)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["type"] == "/problems/rate-limited"
    assert (await from_address(app, "203.0.113.30").get(calm)).status_code == 200


async def test_no_secret_reaches_a_log_line(app, client, make_client, caplog, session):
    caplog.set_level(logging.DEBUG)
    created = (await client.post("/v1/api-keys", json={"name": "Log test", "role": "reader"})).json()
    secret = created["key"]
    reader = AsyncClient(
        transport=ASGITransport(app=app), base_url="http://t", headers={"Authorization": f"Bearer {secret}"}
    )
    await reader.get("/v1/networks")
    await reader.post("/v1/entities", json={"acronym": "NO", "name": "No", "kind": "un_system"})  # 403
    await client.post(f"/v1/api-keys/{created['id']}/revoke")
    await reader.get("/v1/networks")  # 401 revoked
    wrong = "mnr_deadbeef_" + "S" * 43
    await reader.get("/v1/networks", headers={"Authorization": f"Bearer {wrong}"})
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtdG9rZW4ifQ.c2lnbmF0dXJl"
    await reader.get("/v1/networks", headers={"Authorization": f"Bearer {token}"})

    @app.get("/v1/explode")
    async def explode():
        raise RuntimeError("boom")

    raw = AsyncClient(transport=ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t")
    await raw.get("/v1/explode", headers={"Authorization": f"Bearer {secret}"})
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert caplog.records, "the run logged nothing, so this test would prove nothing"
    for value in (secret, secret.split("_", 2)[2], wrong, token):
        assert value not in text
