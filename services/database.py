"""One async engine and session factory per event loop, built from settings."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from sqlalchemy import URL, event, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from services.settings import Settings, get_settings


def async_database_url(url: str) -> URL:
    """Accept ``postgresql://`` / ``postgres://`` URLs and point them at asyncpg."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername in ("postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername != "postgresql+asyncpg":
        raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got driver {parsed.drivername!r}")
    return parsed


def json_dumps(value: Any) -> str:
    """JSONB values may hold UUIDs, dates and enums (event payloads)."""
    return orjson.dumps(value, default=str).decode()


@dataclass(frozen=True)
class Database:
    """An engine for writes (a transaction per session) and a view of it for reads.

    Reads run in autocommit: one round trip per query, without ``BEGIN``/``ROLLBACK``.
    """

    engine: AsyncEngine
    read_engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits once when the block ends, rolls back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.read_engine.connect() as connection:
            yield connection

    async def dispose(self) -> None:
        await self.engine.dispose()


# PostgreSQL's SQLSTATE classes and codes that mean "the server is away", not "a bug":
# 08 connection exception, 53300 too many connections, 57P01-57P03 shutdown or starting up.
_OUTAGE_SQLSTATES = ("08", "53300", "57P01", "57P02", "57P03")


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) says the database cannot be reached right now:
    a refused, lost or timed-out connection, a restart, a full pool."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (OSError, TimeoutError, PoolTimeout, asyncpg.InterfaceError)):
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_OUTAGE_SQLSTATES):
            return True
        current = current.__cause__ or current.__context__
    return False


def create_database(settings: Settings, url: str | None = None) -> Database:
    raw = url or settings.database_url
    if not raw:
        raise RuntimeError(
            "DATABASE_URL is not set; `registry run` starts an embedded PostgreSQL, other commands need DATABASE_URL"
        )
    engine = create_async_engine(
        async_database_url(raw),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_use_lifo=True,  # busy connections stay hot, idle ones age out of the ping's way
        pool_timeout=settings.database_pool_timeout_seconds,
        connect_args={"timeout": settings.database_connect_timeout_seconds},
        json_serializer=json_dumps,
        hide_parameters=True,  # errors and logs never carry values (secrets among them)
    )
    _ping_after_idle(engine, settings.database_ping_after_idle_seconds)
    return Database(
        engine=engine,
        read_engine=engine.execution_options(isolation_level="AUTOCOMMIT"),
        sessions=async_sessionmaker(engine, expire_on_commit=False, autoflush=False),
    )


def _ping_after_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Replace, on checkout, a pooled connection that a database restart broke, so the first
    request after the restart succeeds. Only connections idle for ``idle_seconds`` are
    pinged: under load (and a restart always takes longer than that) a checkout costs no
    extra round trip, where ``pool_pre_ping`` would cost three on every checkout."""
    if idle_seconds < 0:
        return

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _stamp(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _ping(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:  # the pool drops this connection and checks out another
            raise DisconnectionError("a pooled connection did not answer its ping") from error


# asyncpg connections belong to the loop that opened them; the API, the in-process
# worker's loop thread and the scheduler each get their own engine.
_databases: dict[asyncio.AbstractEventLoop, Database] = {}


def get_database() -> Database:
    """The database for the running event loop, created on first use."""
    loop = asyncio.get_running_loop()
    database = _databases.get(loop)
    if database is None:
        database = create_database(get_settings())
        _databases[loop] = database
    return database


async def dispose_database() -> None:
    """Close the running loop's pool (on shutdown)."""
    database = _databases.pop(asyncio.get_running_loop(), None)
    if database is not None:
        await database.dispose()
