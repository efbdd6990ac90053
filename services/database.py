"""One async engine and session factory per event loop, built from settings."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import URL, make_url
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
        json_serializer=json_dumps,
        hide_parameters=True,  # errors and logs never carry values (secrets among them)
    )
    return Database(
        engine=engine,
        read_engine=engine.execution_options(isolation_level="AUTOCOMMIT"),
        sessions=async_sessionmaker(engine, expire_on_commit=False, autoflush=False),
    )


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
