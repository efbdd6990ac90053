"""The one way into a transaction: every request, actor, sweep and command writes through
``unit_of_work``, which decides when to commit and what runs after the commit.

What must follow a commit (the relay nudge, which sends a broker message) is the process's
business, not the services': each process registers its hooks as it starts
(``register_after_commit``). A unit of work may also carry actions of its own, deferred to
after its commit (``after_commit``): broker messages for the rows it marked queued.

Besides the unit of work, three honestly named entries reach the database outside a
transaction: ``autocommit_write`` (a one-statement write, one round trip),
``read_only_snapshot`` (an export's consistent read) and ``session_lock_connections`` (the
scheduler's advisory lock). Reads go through ``Database.read()``; nothing else in the code
opens a transaction (tests/test_transaction_sites.py checks it)."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from services.database import Database, get_database


class AfterCommitHook(Protocol):
    """What a process runs after every unit of work commits. It reads the committed session's
    ``info`` (e.g. whether events were recorded). With ``background`` (a request) it must not
    keep the caller waiting: it returns ``None`` and leaves its work to a task; otherwise it
    may return an awaitable, which the unit of work awaits."""

    def __call__(self, session: AsyncSession, *, background: bool) -> Awaitable[None] | None: ...


_hooks: list[AfterCommitHook] = []

# In a session's info: actions the unit of work runs after its commit, in order.
_DEFERRED = "registry.after_commit"


def register_after_commit(hook: AfterCommitHook) -> None:
    """Run ``hook`` after every unit of work of this process commits (once, however often it
    is registered). Processes register theirs as they start: the API's lifespan, the
    worker's start, ``registry run``, the commands that write, the tests' fixtures."""
    if hook not in _hooks:
        _hooks.append(hook)


def unregister_after_commit(hook: AfterCommitHook) -> None:
    """Stop running ``hook`` (a test that replaced it)."""
    if hook in _hooks:
        _hooks.remove(hook)


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[object]]) -> None:
    """Run ``action`` once the unit of work that owns ``session`` has committed (never if it
    rolls back), before the process's hooks. An action's error reaches the unit of work's
    caller: the commit stands, what the action should have done is the caller's to retry."""
    session.info.setdefault(_DEFERRED, []).append(action)


@asynccontextmanager
async def unit_of_work(*, database: Database | None = None, background: bool = False) -> AsyncIterator[AsyncSession]:
    """A transaction on ``database`` (default: the running loop's). Services flush; this
    commits once when the block ends (rolls back if it raises), then runs the actions
    deferred to after the commit and the process's after-commit hooks.

    ``background``: a request's unit of work, whose response must not wait for the hooks
    (they run in the background, shared among concurrent requests). An actor, a sweep or a
    command waits for them."""
    async with (database or get_database()).session() as session:
        yield session
    deferred = session.info.pop(_DEFERRED, None)
    if deferred:
        for action in deferred:
            await action()
    for hook in _hooks:
        pending = hook(session, background=background)
        if pending is not None:
            await pending


@asynccontextmanager
async def autocommit_write(*, database: Database | None = None) -> AsyncIterator[AsyncConnection]:
    """A connection that commits each statement as it runs: for a write that is one statement
    (an UPDATE with its CTEs, an INSERT ... ON CONFLICT), which needs no transaction around
    it and costs one round trip. No after-commit hook runs: such a write records no event.
    Two statements on it are two commits; anything that must hold together is a
    ``unit_of_work``."""
    async with (database or get_database()).read() as connection:
        yield connection


@asynccontextmanager
async def read_only_snapshot(*, database: Database | None = None) -> AsyncIterator[AsyncConnection]:
    """A connection of its own in one read-only, repeatable-read transaction: a long read
    (an export) sees one consistent snapshot. Read-only transactions take no transaction id,
    so a long one holds back no change-feed reader. It commits nothing."""
    async with (database or get_database()).connect() as connection:
        await connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        async with connection.begin():
            yield connection


@asynccontextmanager
async def session_lock_connections(
    *, database: Database | None = None, silent_for_seconds: float | None = None
) -> AsyncIterator[Callable[[], AbstractAsyncContextManager[AsyncConnection]]]:
    """How to open connections that hold a session-level advisory lock (the scheduler's
    leader lock): never pooled, so closing one, on any error, releases its lock, and so does
    PostgreSQL when the process dies. It holds the lock, not a unit of work: the writes
    a leader makes go through ``unit_of_work``.

    With ``silent_for_seconds``, PostgreSQL itself ends a connection that sends nothing for
    that long (idle, in a transaction or not), releasing its lock: a process that is alive
    but frozen (stopped, swapped out, its host paused) lets go too. Its holder must then
    speak on it more often than that."""
    connect_args: dict[str, Any] = {}
    if silent_for_seconds is not None:
        milliseconds = str(int(silent_for_seconds * 1000))
        connect_args["server_settings"] = {
            "idle_session_timeout": milliseconds,
            "idle_in_transaction_session_timeout": milliseconds,
        }
    engine = create_async_engine((database or get_database()).engine.url, poolclass=NullPool, connect_args=connect_args)
    try:
        yield engine.connect
    finally:
        await engine.dispose()
