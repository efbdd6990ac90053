"""Limits at the edge: body size (413), per-caller rate (429 + Retry-After), and no secret
in any log line."""

import logging

from httpx import ASGITransport, AsyncClient

from api.limits import RateLimiter
from services.settings import get_settings


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


async def test_a_caller_over_its_rate_gets_429_with_retry_after(app, make_client):
    app.state.rate_limiter = RateLimiter(per_minute=60, burst=3)
    busy = await make_client("reader")
    calm = await make_client("reader")
    statuses = [(await busy.get("/v1/gcm/objectives")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = await busy.get("/v1/gcm/objectives")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["type"] == "/problems/rate-limited"
    assert (await calm.get("/v1/gcm/objectives")).status_code == 200  # per caller


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
