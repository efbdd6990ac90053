"""The test harness: a fresh database on real PostgreSQL (DATABASE_URL's server, or an
embedded one), migrated with Alembic; each test runs in a transaction that is rolled back."""

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from services.settings import Settings, use_settings
from worker.main import start_broker

# Parallel runs use their own (TEST_DATABASE_NAME), and so does each pytest-xdist worker.
TEST_DATABASE = os.environ.get("TEST_DATABASE_NAME", "registry_test") + (
    f"_{os.environ['PYTEST_XDIST_WORKER']}" if os.environ.get("PYTEST_XDIST_WORKER") else ""
)
ROOT = Path(__file__).resolve().parent.parent


def _server_url() -> str:
    """A URL on the server the tests use: DATABASE_URL's, or an embedded one."""
    configured = Settings().database_url
    if configured:
        return configured
    from services.embedded_postgres import start_embedded_postgres

    global _embedded_server
    _embedded_server, url = start_embedded_postgres(ROOT / ".data", database="postgres")
    return url


_embedded_server = None
SERVER_URL = _server_url()


def database_url(name: str) -> str:
    return make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)


TEST_DATABASE_URL = database_url(TEST_DATABASE)
# The test process's settings: the in-memory broker, the test database.
use_settings(
    Settings(
        database_url=TEST_DATABASE_URL,
        broker_url=None,
        load_demo_data=False,
        data_dir=ROOT / ".data",
        rate_limit_burst=1_000_000,  # the limits have their own tests (test_limits.py)
        auth_failures_per_address=1_000_000,
        auth_failures_per_key_prefix=1_000_000,
        calendar_failures_per_address=1_000_000,
        limits_url=None,  # each test's app counts in its own process
        jwt_issuer=None,
        jwt_audience=None,
        jwt_jwks_url=None,
        webhook_allowed_private_hosts=["127.0.0.1"],  # the tests' webhook receivers listen on loopback
        webhook_timeout_seconds=5.0,
    )
)
# The test process starts as any process that writes does: its (in-memory) broker built, the
# actors bound to it, the relay nudge registered to run after every unit of work commits.
start_broker()


async def recreate_database(name: str) -> None:
    url = make_url(SERVER_URL)
    connect_url = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(connect_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def migrated_database() -> str:
    from alembic import command

    from migrations.config import alembic_config

    asyncio.run(recreate_database(TEST_DATABASE))
    command.upgrade(alembic_config(TEST_DATABASE_URL), "head")
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
async def engine(migrated_database: str) -> AsyncIterator[AsyncEngine]:
    from services.database import async_database_url, json_dumps
    from services.gcm.service import load_reference_data

    eng = create_async_engine(async_database_url(migrated_database), json_serializer=json_dumps)
    async with AsyncSession(eng) as session, session.begin():
        await load_reference_data(session)
    yield eng
    await eng.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection in a transaction that the test never commits."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        if transaction.is_active:
            await transaction.rollback()


def savepoint_session(connection: AsyncConnection) -> AsyncSession:
    return AsyncSession(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=False
    )


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session for service-level tests; its commits are savepoints inside the test's transaction."""
    async with savepoint_session(connection) as s:
        yield s


@pytest.fixture(autouse=True)
def _release_clock() -> Iterator[None]:
    from services.clock import clock

    yield
    clock.freeze(None)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """A test that runs a command in-process (``api.cli.main``) puts the registry's handler on
    the root logger, writing to that test's captured stderr: take it off afterwards, so that a
    later thread's log line (an SMTP server's) is not written to a stream pytest has closed."""
    import logging

    from services.observability.logs import HANDLER_NAME

    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):  # pytest's own capture handlers come and go by phase: left alone
        if handler.get_name() == HANDLER_NAME and handler not in before:
            root.removeHandler(handler)
    root.setLevel(level)


_shared: dict[str, Any] = {}


def _served_app() -> Any:
    """One app per test process, reused by every test's ``app``: FastAPI builds each route's
    dependencies once per app, on first use (all of them for the access gate's route table),
    0.3 s of CPU and more, which an app per test paid for every test. A test that added a
    route or a middleware to it (tests/test_limits.py adds one) leaves it to that test: the
    next test gets a new app."""
    from tests.served_app import served_app

    app = _shared.get("app")
    if app is None or (len(app.router.routes), len(app.user_middleware)) != _shared["shape"]:
        app = served_app()
        _shared.update(app=app, shape=(len(app.router.routes), len(app.user_middleware)))
    return app


@pytest.fixture
async def app(connection: AsyncConnection):
    """The API on the test's connection: each request's unit of work is a savepoint. The
    process's one app, with the state and overrides a new app has (``_served_app``)."""
    from contextlib import asynccontextmanager

    from starlette.datastructures import State

    from api.app import install_state
    from api.deps import auth_connector, read_connection, write_session
    from services.events.service import PENDING_EVENTS_FLAG

    application = _served_app()
    application.state = State()  # what the last test set (a lifted route table, say) goes
    install_state(application)
    application.dependency_overrides.clear()
    nudges: list[bool] = []

    async def test_write_session() -> AsyncIterator[AsyncSession]:
        async with savepoint_session(connection) as s:
            async with s.begin():
                yield s
            if s.info.get(PENDING_EVENTS_FLAG):
                nudges.append(True)

    async def test_read_connection() -> AsyncIterator[AsyncConnection]:
        yield connection

    @asynccontextmanager
    async def on_test_connection() -> AsyncIterator[AsyncConnection]:
        yield connection

    application.dependency_overrides[write_session] = test_write_session
    application.dependency_overrides[read_connection] = test_read_connection

    async def test_auth_connector():
        return on_test_connection

    application.dependency_overrides[auth_connector] = test_auth_connector
    application.state.export_connector = on_test_connection  # exports read the test's transaction
    application.state.relay_nudges = nudges
    return application


@pytest.fixture
async def make_client(app, session):
    """``await make_client(role, entity_id=None)``: an HTTP client holding a fresh API key of
    that role (``None``: no credentials at all)."""
    from services.api_keys.schemas import ApiKeyCreate
    from services.api_keys.service import create_api_key
    from services.principals import SYSTEM

    clients: list[AsyncClient] = []

    async def make(role: str | None, entity_id=None) -> AsyncClient:
        headers = {}
        if role is not None:
            _, key = await create_api_key(
                session, data=ApiKeyCreate(name=f"test {role}", role=role, entity_id=entity_id), actor=SYSTEM
            )
            await session.flush()
            headers["Authorization"] = f"Bearer {key}"
        c = AsyncClient(transport=ASGITransport(app=app), base_url="http://registry.test", headers=headers)
        c.app = app  # type: ignore[attr-defined]
        clients.append(c)
        return c

    yield make
    for c in clients:
        await c.aclose()


@pytest.fixture
async def client(make_client) -> AsyncClient:
    """An admin (the secretariat) over HTTP."""
    return await make_client("admin")


async def committed_admin_key() -> str:
    """An admin key committed to the test database (for apps that use their own connections)."""
    from services.api_keys.service import create_bootstrap_admin_key
    from services.database import get_database

    async with get_database().session() as session:
        key = await create_bootstrap_admin_key(session, name="committed test admin", only_if_none=False)
    assert key is not None
    return key


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """For tests that need real commits (workers, concurrency): the records they leave are
    removed afterwards (the audit log, append-only, keeps its entries)."""
    yield engine
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "TRUNCATE memberships, networks, entity_identifiers, api_keys, entities, events, idempotency_keys, "
                "webhook_endpoints, webhook_deliveries, webhook_attempts, email_deliveries, meetings, review_reminders, relay_queue, "
                "scheduler_sweeps, scheduler_sweep_runs CASCADE"
            )
        )


PUBLIC = "https://registry.migrationnetwork.un.org"


@pytest.fixture
def public_base_url() -> Iterator[str]:
    """PUBLIC_BASE_URL set to a public address, as in a deployment: links must use it."""
    from services.settings import get_settings

    previous = get_settings()
    use_settings(previous.model_copy(update={"public_base_url": PUBLIC}))
    yield PUBLIC
    use_settings(previous)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Under pytest-xdist (`make test`), the tests on the shared RabbitMQ and Redis all run in
    one worker: they share the brokers' queues, and one of them stops RabbitMQ for a while.
    (Marked as each test is collected, before xdist reads the groups.)"""
    if ROOT / "tests" / "integration" in item.path.parents:
        item.add_marker(pytest.mark.xdist_group("brokers"))
