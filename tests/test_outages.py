"""A dependency outage is a 503 with Retry-After, a bug is a 500; both carry X-Request-ID,
are logged once and leave the app able to serve the next request. Pooled connections a
database restart broke are replaced before use."""

import asyncio
import logging

from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from api.lifecycle import draining
from services import database as databases
from services.database import create_database, get_database
from services.settings import get_settings
from tests.conftest import committed_admin_key
from tests.served_app import served_app

# Nothing listens here (the range reserved for this project's test servers).
DOWN_URL = "postgresql://postgres@127.0.0.1:18149/registry"


def _problem(response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"]
    body = response.json()
    assert body["type"] == f"/problems/{kind}"
    return body


async def test_a_bug_is_one_500_with_a_request_id_logged_once(client, caplog):
    app = client.app

    @app.get("/v1/boom")
    async def boom():
        raise RuntimeError("secret internals: SELECT password FROM users")

    # The app answers (raise_app_exceptions stays on: nothing escapes to the server).
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as raw:
        with caplog.at_level(logging.INFO):
            response = await raw.get("/v1/boom", headers={"X-Request-ID": "req-boom-1"})
            after = await raw.get("/healthz")
    body = _problem(response, 500, "internal-error")
    assert response.headers["x-request-id"] == "req-boom-1" and "req-boom-1" in body["detail"]
    assert "secret" not in response.text and "not saved" not in body["detail"]  # a GET changes nothing
    assert after.status_code == 200
    logged = [r for r in caplog.records if "req-boom-1" in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert "password" not in logged[0].getMessage()


async def test_a_lost_database_is_a_503_with_retry_after_and_readyz_names_it(committed, caplog):
    key = await committed_admin_key()
    loop = asyncio.get_running_loop()
    healthy = databases._databases.get(loop)
    databases._databases[loop] = create_database(get_settings(), url=DOWN_URL)
    try:
        async with AsyncClient(transport=ASGITransport(app=served_app()), base_url="http://t") as client:
            with caplog.at_level(logging.INFO):
                read = await client.get("/v1/entities", headers={"Authorization": f"Bearer {key}"})
                write = await client.post(
                    "/v1/entities",
                    json={"acronym": "DOWN", "name": "Down", "kind": "un_system"},
                    headers={"Authorization": f"Bearer {key}", "X-Request-ID": "req-down-2"},
                )
                ready = await client.get("/readyz")
    finally:
        await databases._databases[loop].dispose()
        if healthy is None:
            databases._databases.pop(loop, None)
        else:
            databases._databases[loop] = healthy
    for response in (read, write):
        body = _problem(response, 503, "database-unavailable")
        assert int(response.headers["retry-after"]) > 0 and "Retry" in body["detail"]
    assert len([r for r in caplog.records if "req-down-2" in r.getMessage()]) == 1
    body = _problem(ready, 503, "not-ready")
    assert body["checks"]["database"] == "down" and body["checks"]["api"] == "up"


async def test_readyz_shows_the_backlog_and_turns_503_while_draining(committed):
    async with AsyncClient(transport=ASGITransport(app=served_app()), base_url="http://t") as client:
        ready = await client.get("/readyz")
        draining.set()
        try:
            leaving = await client.get("/readyz")
            served = await client.get("/healthz")
            refused = await client.get("/v1/entities")
        finally:
            draining.clear()
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["checks"] == {"api": "up", "database": "up", "broker": "up"}
    assert set(body["deliveries"]) == {"webhook", "email"} and "due" in body["deliveries"]["webhook"]
    assert _problem(leaving, 503, "not-ready")["checks"]["api"] == "draining"
    assert served.status_code == 200 and served.headers["connection"] == "close"
    _problem(refused, 503, "shutting-down")  # new work is turned away, quickly and with Retry-After
    assert refused.headers["retry-after"] and refused.headers["connection"] == "close"


async def test_the_first_request_after_its_pooled_connection_died_succeeds(committed):
    """A database restart leaves dead connections in the pool; one idle that long is pinged
    and replaced before use."""
    key = await committed_admin_key()
    database = get_database()
    async with database.read() as conn:
        pid = await conn.scalar(text("SELECT pg_backend_pid()"))
    async with AsyncClient(transport=ASGITransport(app=served_app()), base_url="http://t") as client:
        assert (await client.get("/readyz")).status_code == 200
        async with create_database(get_settings()).read_engine.connect() as other:
            assert await other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(get_settings().database_ping_after_idle_seconds + 0.1)
        response = await client.get("/v1/entities", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
