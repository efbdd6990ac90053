"""A dependency outage is a 503 with Retry-After, a bug is a 500; both carry X-Request-ID,
are logged once and leave the app able to serve the next request. Pooled connections a
database restart broke are replaced before use."""

import asyncio
import logging
import uuid

import asyncpg
import dramatiq
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import make_url, text
from sqlalchemy.exc import ProgrammingError

from api.lifecycle import draining
from services.database import create_database, get_database
from services.settings import get_settings
from tests.conftest import committed_admin_key
from tests.database_swap import serving_on
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
    async with serving_on(create_database(get_settings(), url=DOWN_URL)) as client:
        with caplog.at_level(logging.INFO):
            read = await client.get("/v1/entities", headers={"Authorization": f"Bearer {key}"})
            write = await client.post(
                "/v1/entities",
                json={"acronym": "DOWN", "name": "Down", "kind": "un_system"},
                headers={"Authorization": f"Bearer {key}", "X-Request-ID": "req-down-2"},
            )
            ready = await client.get("/readyz")
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
            in_arabic = await client.get("/v1/entities", headers={"Accept-Language": "ar"})
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
    seconds = refused.headers["retry-after"]
    assert refused.json()["detail"] == f"This server is shutting down; nothing was changed. Retry in {seconds} s."
    arabic = _problem(in_arabic, 503, "shutting-down")  # in the caller's language
    assert arabic["detail"] == f"يجري إيقاف هذا الخادم؛ لم يُغيَّر شيء. أعد المحاولة بعد {seconds} ث."
    assert arabic["title"] == "الخدمة غير متاحة" and in_arabic.headers["content-language"] == "ar"


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


async def test_a_database_error_that_is_a_bug_is_one_500_logged_with_its_own_error(client, caplog):
    """A database error that is neither bad input (class 22) nor an outage is a 500 logged with
    the database's error, not with an error of the error handler's own."""
    app = client.app

    @app.get("/v1/missing-table")
    async def missing_table():
        async with get_database().read() as conn:
            await conn.execute(text("SELECT * FROM no_such_table"))

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as raw:
        with caplog.at_level(logging.INFO):
            response = await raw.get("/v1/missing-table", headers={"X-Request-ID": "req-sql-bug"})
    _problem(response, 500, "internal-error")
    logged = [r for r in caplog.records if "req-sql-bug" in r.getMessage()]
    assert len(logged) == 1 and logged[0].getMessage().startswith("unhandled error"), logged
    assert logged[0].exc_info is not None and isinstance(logged[0].exc_info[1], ProgrammingError)
    assert not any("KeyError" in r.getMessage() for r in caplog.records)


async def _set_read_only(database: str, on: bool) -> None:
    """Make the test database read-only (or writable again) for new connections, as a
    maintenance window or a failover to a standby would, and drop this process's pooled ones."""
    server = make_url(get_settings().database_url).set(drivername="postgresql", database="postgres")
    admin = await asyncpg.connect(server.render_as_string(hide_password=False))
    try:
        change = "SET default_transaction_read_only = on" if on else "RESET default_transaction_read_only"
        await admin.execute(f'ALTER DATABASE "{database}" {change}')
    finally:
        await admin.close()
    await get_database().dispose()


async def test_a_read_only_database_serves_reads_refuses_writes_with_503_and_readyz_says_so(committed, caplog):
    key = await committed_admin_key()
    auth = {"Authorization": f"Bearer {key}"}
    database = make_url(get_settings().database_url).database
    assert database is not None
    async with AsyncClient(transport=ASGITransport(app=served_app()), base_url="http://t") as client:
        await _set_read_only(database, on=True)
        try:
            with caplog.at_level(logging.DEBUG):
                read = await client.get("/v1/entities", headers=auth)  # verifying the key touches it: skipped
                writes = [
                    await client.post(
                        "/v1/entities",
                        json={"acronym": f"RO{n}", "name": f"Read only {n}", "kind": "un_system"},
                        headers={**auth, "X-Request-ID": f"req-read-only-{n}"},
                    )
                    for n in range(2)
                ]
                ready = await client.get("/readyz")
        finally:
            await _set_read_only(database, on=False)
        with caplog.at_level(logging.INFO):
            ready_again = await client.get("/readyz")
            written = await client.post(
                "/v1/entities", json={"acronym": "RW", "name": "Writable", "kind": "un_system"}, headers=auth
            )
            listed = await client.get("/v1/entities", headers=auth)
    assert read.status_code == 200, read.text
    for response in writes:
        body = _problem(response, 503, "database-read-only")
        assert int(response.headers["retry-after"]) > 0
        assert "read-only" in body["detail"] and "nothing was" in body["detail"]
    body = _problem(ready, 503, "not-ready")
    assert body["checks"]["database"] == "read-only" and "deliveries" in body
    # Recovered: ready, writable, and nothing of the refused writes was stored.
    assert ready_again.status_code == 200, ready_again.text
    assert written.status_code == 201, written.text
    assert [e["acronym"] for e in listed.json()["items"]] == ["RW"]
    # One warning as the episode began, one as it ended; no traceback, no error.
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in warnings] == ["services.database", "services.database"], warnings
    assert "read-only" in warnings[0].getMessage() and "again" in warnings[1].getMessage()
    assert not any(r.exc_info for r in caplog.records)


async def test_a_worker_waits_out_a_read_only_database_logging_the_spell_once(committed, caplog):
    """A delivery message met by a read-only database waits with backoff, as through any
    outage, and the spell is one warning as it begins and one as it ends: not a traceback
    per message."""
    from services.delivery.senders import WEBHOOK
    from worker.queueing import deliver, retry_outages

    database = make_url(get_settings().database_url).database
    assert database is not None
    log = logging.getLogger("tests.worker")
    await _set_read_only(database, on=True)
    try:
        with caplog.at_level(logging.INFO):
            waits = []
            for _ in range(3):
                with pytest.raises(dramatiq.Retry) as waited:
                    await deliver(WEBHOOK, [str(uuid.uuid4())], log)
                waits.append(waited.value)
    finally:
        await _set_read_only(database, on=False)
    with caplog.at_level(logging.INFO):
        await deliver(WEBHOOK, [str(uuid.uuid4())], log)  # nothing due: done, and writable again
    assert all(retry_outages(0, wait) for wait in waits), "the message waits with backoff"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in warnings] == ["services.database", "services.database"], warnings
    assert "read-only" in warnings[0].getMessage() and "webhook deliveries" in warnings[0].getMessage()
    assert "again" in warnings[1].getMessage()
    assert not any(r.exc_info for r in caplog.records)
