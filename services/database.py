"""One async engine and session factory per event loop, built from settings."""

import asyncio
import ipaddress
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from sqlalchemy import URL, event, make_url, text
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

logger = logging.getLogger("services.database")


def _hosts_to_query(url: str) -> str:
    """A libpq multi-host URL (``postgresql://user@primary:5432,standby:5432/db``, what a
    failover setup gives) in the form SQLAlchemy reads: one ``host=`` query entry per host
    (``postgresql://user@/db?host=primary:5432&host=standby:5432``). Other URLs unchanged."""
    scheme, separator, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    userinfo, at, hosts = authority.rpartition("@")
    if not separator or "," not in hosts:
        return url
    database, _, query = path.partition("?")
    entries = [f"host={host}" for host in hosts.split(",") if host]
    entries += [query] if query else []
    return f"{scheme}://{userinfo}{at}{slash or '/'}{database}?{'&'.join(entries)}"


def async_database_url(url: str) -> URL:
    """Accept ``postgresql://`` / ``postgres://`` URLs, one host or several (libpq's
    ``host1:port1,host2:port2``, with ``?target_session_attrs=read-write`` to follow a
    failover), and point them at asyncpg."""
    parsed = make_url(_hosts_to_query(url.replace("postgres://", "postgresql://", 1)))
    if parsed.drivername in ("postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername != "postgresql+asyncpg":
        raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got driver {parsed.drivername!r}")
    return parsed


def shown_url(url: str) -> str:
    """The URL for a log line or a status report: its password hidden, several hosts listed."""
    return async_database_url(url).render_as_string(hide_password=True)


def _host_of(entry: str) -> str:
    """``host``, ``host:port``, ``[v6]:port`` or a socket directory → the host alone."""
    if entry.startswith("["):
        return entry[: entry.index("]") + 1]
    host, _, port = entry.rpartition(":")
    return host if host and port.isdigit() and ":" not in host else entry


def database_hosts(url: URL) -> list[str]:
    """The hosts a URL names (several for a failover setup), without their ports."""
    listed = url.query.get("host")
    if listed is None:
        return [url.host] if url.host else []
    return [_host_of(entry) for entry in ((listed,) if isinstance(listed, str) else listed)]


def _is_loopback(host: str | None) -> bool:
    if host is None or host == "localhost" or host.startswith("/"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def connect_arguments(url: URL, settings: Settings) -> dict[str, Any]:
    """asyncpg's connect() arguments: JIT compilation off and idle connections released (see
    below), or what PgBouncer needs (``DATABASE_PGBOUNCER``). asyncpg's default
    ``ssl='prefer'`` tries TLS first on every new connection; to this machine's own server (no
    TLS there, nothing to protect) that is a wasted handshake, so it is off unless the URL
    asks (``?ssl=`` / ``?sslmode=``). Remote servers keep asyncpg's default."""
    arguments: dict[str, Any] = {"timeout": settings.database_connect_timeout_seconds}
    if settings.database_pgbouncer:
        arguments |= _through_pgbouncer()
    else:
        server_settings = {
            # PostgreSQL compiles a statement it estimates as costly to machine code first. The
            # indicators' statement took 1.9 s to compile for 3 s of running at the full
            # benchmark size: the registry's statements are never long enough for it to pay.
            "jit": "off",
        }
        if settings.database_idle_release_seconds > 0:
            # The pools keep connections for the next burst and never close one themselves;
            # the server ends those left idle this long, so quiet processes give their share
            # of max_connections back. The ping after idling replaces an ended one before use.
            server_settings["idle_session_timeout"] = str(int(settings.database_idle_release_seconds * 1000))
        arguments["server_settings"] = server_settings
    hosts: list[str | None] = [*database_hosts(url)] or [None]  # none: libpq's default, a local socket
    if not ({"ssl", "sslmode"} & set(url.query)) and all(_is_loopback(host) for host in hosts):
        arguments["ssl"] = False
    return arguments


def _through_pgbouncer() -> dict[str, Any]:
    """Connect arguments for PgBouncer in transaction mode, where consecutive transactions of
    one connection may run on different server connections, and one server connection serves
    many clients in turn. No startup parameters (PgBouncer refuses those it does not know, and
    a session setting would outlive the transaction on a server another client gets next:
    set ``jit = off`` on the database instead); no statement kept prepared across
    transactions (asyncpg's cache, SQLAlchemy's); and every prepared statement named
    uniquely, since asyncpg's own names (``__asyncpg_stmt_1__``, …) restart at 1 on every
    client connection and collide on the server connection they share."""
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _unique_statement_name,
    }


def _unique_statement_name() -> str:
    return f"__registry_{uuid.uuid4().hex}__"


def json_dumps(value: Any) -> str:
    """JSONB values may hold UUIDs, dates and enums (event payloads)."""
    return orjson.dumps(value, default=str).decode()


class Turns:
    """Turns at a pool of as many connections as there are turns, handed out first come,
    first served. The pool's own queue lets a newcomer take a connection just returned ahead
    of those already waiting: with 32 requests on 10 connections, some waited 40 times as long
    as the median (p99 by id 59 ms, p50 6 ms); with turns, p99 20 ms, p50 13 ms. Waiting
    longer than the pool's timeout is the pool's timeout (503)."""

    def __init__(self, count: int, wait_seconds: float) -> None:
        self._turns = asyncio.Semaphore(count)
        self.wait_seconds = wait_seconds
        self.waiting = 0  # callers waiting for a turn now

    @property
    def busy(self) -> bool:
        """Every turn is taken."""
        return self._turns.locked()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self._turns.locked():
            self.waiting += 1
            try:
                async with asyncio.timeout(self.wait_seconds):
                    await self._turns.acquire()
            except TimeoutError as error:
                raise PoolTimeout(f"no connection free within {self.wait_seconds:g} s") from error
            finally:
                self.waiting -= 1
        else:
            await self._turns.acquire()
        try:
            yield
        finally:
            self._turns.release()


@dataclass(frozen=True)
class Database:
    """An engine for writes (a transaction per session) and one for reads.

    Reads run in autocommit: one round trip per query, without ``BEGIN``/``ROLLBACK``. The
    read engine's connections are autocommit for good (their own pool), rather than switched
    to autocommit on every checkout and back on every return (with engine events on every
    statement), which cost a read path about a tenth of its CPU.

    Through PgBouncer in transaction mode (``reads_in_transactions``) a read block is one
    transaction instead, committed as it ends: outside a transaction PgBouncer may run a
    statement's execution on another server connection than the one it was prepared on.
    """

    engine: AsyncEngine
    read_engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    write_turns: Turns
    read_turns: Turns
    idle_seconds: float  # how long a connection may idle before it is pinged (below)
    reads_in_transactions: bool = False
    # Read connections passed from a read that ended to one waiting for its turn (see read).
    handed_over: list[tuple[AsyncConnection, float]] = field(default_factory=list)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A transaction: commits once when the block ends, rolls back on error. Only
        ``services.unit_of_work`` opens one (with the process's after-commit hooks); tests
        commit their fixtures' rows through it directly."""
        async with self.write_turns.turn(), self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """An autocommit connection of the read pool, for one or a few reads (a one-statement
        write goes through ``services.unit_of_work.autocommit_write``, on the same pool).

        A read that ends while others wait for their turn hands its connection to the next
        one instead of returning it to the pool: under load a read then skips the pool's
        checkout and return (about 100 µs of CPU of a read by id's 400-700 µs). When no one
        waits, the connection goes back to the pool, which pings it after idling as always."""
        async with self.read_turns.turn():
            connection = await self._take_read_connection()
            try:
                if self.reads_in_transactions:
                    async with connection.begin():
                        yield connection
                else:
                    yield connection
            except BaseException as error:
                if is_outage(error):  # the connections handed over are likely broken too
                    await self._drop_handed_over()
                await asyncio.shield(connection.close())
                raise
            if self.read_turns.waiting > len(self.handed_over):
                self.handed_over.append((connection, time.monotonic()))
            else:
                await asyncio.shield(connection.close())

    async def _take_read_connection(self) -> AsyncConnection:
        while self.handed_over:
            connection, since = self.handed_over.pop()
            if time.monotonic() - since < self.idle_seconds:
                return connection
            # The reader it waited for gave up: back to the pool, which pings it.
            await asyncio.shield(_give_back(connection, since))
        return await self.read_engine.connect()

    async def _drop_handed_over(self) -> None:
        while self.handed_over:
            await asyncio.shield(_give_back(*self.handed_over.pop()))

    async def ping_writes(self) -> None:
        """The write pool's connections answer (readiness: a process whose reads work may still
        be refused every write connection, by "too many clients" say). Not checked while every
        write turn is taken: those connections are busy, so connected."""
        if self.write_turns.busy:
            return
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection of the write pool whose transaction the caller runs itself, taking its
        turn like a session: ``services.unit_of_work.read_only_snapshot`` only."""
        async with self.write_turns.turn(), self.engine.connect() as connection:
            yield connection

    async def dispose(self) -> None:
        await self._drop_handed_over()
        await self.engine.dispose()
        await self.read_engine.dispose()


# PostgreSQL's SQLSTATE classes and codes that mean "the server is away", not "a bug":
# 08 connection exception, 53300 too many connections, 57P01-57P03 shutdown or starting up,
# 25006 a read-only transaction refused a write (a standby, or default_transaction_read_only
# during maintenance): the database answers reads but no change can be saved until it recovers.
READ_ONLY_SQLSTATE = "25006"
_OUTAGE_SQLSTATES = ("08", "53300", "57P01", "57P02", "57P03", READ_ONLY_SQLSTATE)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what caused it, each once."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) says the database cannot serve right now:
    a refused, lost or timed-out connection, a restart, a full pool or server, no host of a
    failover list that takes writes yet (the primary gone, the standby not promoted), a
    database that is read-only."""
    for current in _causes(error):
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (OSError, TimeoutError, PoolTimeout, asyncpg.InterfaceError)):
            return True
        if isinstance(current, asyncpg.TargetServerAttributeNotMatched):  # no host takes writes: a failover
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_OUTAGE_SQLSTATES):
            return True
    return False


def is_read_only(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a write refused because the database is read-only."""
    return any(getattr(current, "sqlstate", None) == READ_ONLY_SQLSTATE for current in _causes(error))


class ReadOnlyEpisode:
    """Whether this process last found the database read-only, so that a read-only spell is
    logged once when it is first met and once when it ends, not once per refused write."""

    def __init__(self) -> None:
        self.since: float | None = None  # monotonic time it was first met; None: writable

    def met(self, where: str) -> bool:
        """The database refused a write ``where`` (what was being done); True when this
        begins an episode (and logged it), False when one is under way."""
        if self.since is not None:
            return False
        self.since = time.monotonic()
        logger.warning(
            "the database is read-only (a standby, or default_transaction_read_only): writes are "
            "refused with 503 and readiness fails until it accepts writes again; first refused: %s",
            where,
        )
        return True

    def ended(self) -> None:
        """The database accepted a write, or says it would."""
        if self.since is None:
            return
        logger.warning("the database accepts writes again, after %.0f s read-only", time.monotonic() - self.since)
        self.since = None


read_only_episode = ReadOnlyEpisode()


def connections_per_loop(settings: Settings) -> int:
    """The most connections one event loop's ``Database`` opens: its read pool and its write
    pool, each ``DATABASE_POOL_SIZE`` + ``DATABASE_MAX_OVERFLOW``."""
    return 2 * (settings.database_pool_size + settings.database_max_overflow)


def log_connection_budget(settings: Settings, process: str, *, unpooled: int = 0) -> None:
    """Say, as a process starts, the most connections it opens to PostgreSQL (``unpooled``:
    those it opens beside its pools, such as the scheduler's leader lock), so that an operator
    can add up the processes against ``max_connections`` (docs/OPERATIONS.md)."""
    per_pool = settings.database_pool_size + settings.database_max_overflow
    release = settings.database_idle_release_seconds
    logger.info(
        "%s: at most %d database connections (reads %d + writes %d: DATABASE_POOL_SIZE %d + "
        "DATABASE_MAX_OVERFLOW %d each%s); %s",
        process,
        connections_per_loop(settings) + unpooled,
        per_pool,
        per_pool,
        settings.database_pool_size,
        settings.database_max_overflow,
        f", + {unpooled} unpooled" if unpooled else "",
        "through PgBouncer, whose pool sets PostgreSQL's connections"
        if settings.database_pgbouncer
        else f"idle ones closed after {release:g} s"
        if release > 0
        else "idle ones kept open",
    )


def create_database(settings: Settings, url: str | None = None) -> Database:
    raw = url or settings.database_url
    if not raw:
        raise RuntimeError(
            "DATABASE_URL is not set; `registry run` starts an embedded PostgreSQL, other commands need DATABASE_URL"
        )
    database_url = async_database_url(raw)
    engine, read_engine = (
        create_async_engine(
            database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_use_lifo=True,  # busy connections stay hot, idle ones age out of the ping's way
            pool_timeout=settings.database_pool_timeout_seconds,
            connect_args=connect_arguments(database_url, settings),
            json_serializer=json_dumps,
            json_deserializer=orjson.loads,  # JSONB columns (a read's identifiers, events' payloads)
            hide_parameters=True,  # errors and logs never carry values (secrets among them)
            **isolation,
        )
        for isolation in ({}, {} if settings.database_pgbouncer else {"isolation_level": "AUTOCOMMIT"})
    )
    for each in (engine, read_engine):
        _ping_after_idle(each, settings.database_ping_after_idle_seconds)
    connections = settings.database_pool_size + settings.database_max_overflow
    return Database(
        engine=engine,
        read_engine=read_engine,
        write_turns=Turns(connections, settings.database_pool_timeout_seconds),
        read_turns=Turns(connections, settings.database_pool_timeout_seconds),
        idle_seconds=settings.database_ping_after_idle_seconds
        if settings.database_ping_after_idle_seconds >= 0
        else math.inf,
        sessions=async_sessionmaker(engine, expire_on_commit=False, autoflush=False),
        reads_in_transactions=settings.database_pgbouncer,
    )


# In a pooled connection's record: since when it has been idle (in the pool, or handed over).
_IDLE_SINCE = "registry.idle_since"


async def _give_back(connection: AsyncConnection, idle_since: float) -> None:
    """Return a handed-over connection to its pool as idle since ``idle_since``."""
    connection.info[_IDLE_SINCE] = idle_since
    await connection.close()


def _ping_after_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Replace, on checkout, a pooled connection that a database restart broke, so the first
    request after the restart succeeds. Only connections idle for ``idle_seconds`` are
    pinged: under load (and a restart always takes longer than that) a checkout costs no
    extra round trip, where ``pool_pre_ping`` would cost three on every checkout."""
    if idle_seconds < 0:
        return

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _stamp(dbapi_connection: Any, record: Any) -> None:
        record.info.setdefault(_IDLE_SINCE, time.monotonic())

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _ping(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        checked_in_at = record.info.pop(_IDLE_SINCE, None)
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


def open_databases() -> list[Database]:
    """Every database this process has opened (one per event loop), for its pool metrics."""
    return list(_databases.values())


async def dispose_database() -> None:
    """Close the running loop's pool (on shutdown)."""
    database = _databases.pop(asyncio.get_running_loop(), None)
    if database is not None:
        await database.dispose()
