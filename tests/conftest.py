"""The test harness: a fresh database on real PostgreSQL (DATABASE_URL's server, or an
embedded one), migrated with Alembic; each test runs in a transaction that is rolled back."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from services.settings import Settings, use_settings

TEST_DATABASE = "registry_test"
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
# Before anything builds an engine or a broker: the in-memory broker, the test database.
use_settings(Settings(database_url=TEST_DATABASE_URL, broker_url=None, load_demo_data=False, data_dir=ROOT / ".data"))


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


@pytest.fixture
async def client(connection: AsyncConnection) -> AsyncIterator[AsyncClient]:
    """The API over ASGI, on the test's connection: each request's unit of work is a savepoint."""
    from api.app import create_app
    from api.deps import read_connection, write_session
    from services.events.service import PENDING_EVENTS_FLAG

    app = create_app()
    nudges: list[bool] = []

    async def test_write_session() -> AsyncIterator[AsyncSession]:
        async with savepoint_session(connection) as s:
            async with s.begin():
                yield s
            if s.info.get(PENDING_EVENTS_FLAG):
                nudges.append(True)

    async def test_read_connection() -> AsyncIterator[AsyncConnection]:
        yield connection

    app.dependency_overrides[write_session] = test_write_session
    app.dependency_overrides[read_connection] = test_read_connection
    app.state.relay_nudges = nudges
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://registry.test") as c:
        c.app = app  # type: ignore[attr-defined]
        yield c


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """For tests that need real commits (workers, concurrency): the records they leave are
    removed afterwards."""
    yield engine
    async with engine.begin() as conn:
        await conn.execute(
            text("TRUNCATE memberships, networks, entity_identifiers, entities, events, idempotency_keys CASCADE")
        )
