"""Leadership that cannot split: the advisory lock says who leads, and every sweep proves,
in the statement that logs it, that its scheduler's lock connection still holds the lock.

A scheduler that takes over waits until no sweep of another scheduler can still be running
(each sweep is cut off after ``sweep_timeout`` seconds), so two sweeps never overlap even
when a database restart hands the lock to a standby while the old leader is mid-sweep.
"""

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import DateTime, String, delete, func, insert, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.scheduling.models import SchedulerSweep, SweepRun

# Any constant shared by every scheduler instance; "MNR" + "sched".
LEADER_LOCK_KEY = 0x4D4E52_5343

_HOLDS_LOCK = text(
    "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = :pid "
    "AND classid = :hi AND objid = :lo AND objsubid = 1)"
).bindparams(hi=LEADER_LOCK_KEY >> 32, lo=LEADER_LOCK_KEY & 0xFFFFFFFF)


async def try_lead(lock_connection: AsyncConnection) -> bool:
    """Take the leader lock on this (held) connection, if nobody holds it."""
    return bool(await lock_connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK_KEY}))


async def release(lock_connection: AsyncConnection) -> None:
    await lock_connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK_KEY})


async def backend_pid(lock_connection: AsyncConnection) -> int:
    return int(await lock_connection.scalar(text("SELECT pg_backend_pid()")) or 0)


async def seconds_until_others_stop(session: AsyncSession, *, scheduler_id: str, sweep_timeout: float) -> float:
    """How long a new leader waits before its first sweep: until every unfinished sweep of
    another scheduler has reached its cut-off. Locks the log so that a sweep whose fenced
    insert is still in flight is seen."""
    await session.execute(text("LOCK TABLE scheduler_sweeps IN EXCLUSIVE MODE"))
    cutoff = timedelta(seconds=sweep_timeout + 1)  # one second for the old leader's clock to notice
    remaining = await session.scalar(
        select(func.extract("epoch", func.max(SchedulerSweep.started_at) + cutoff - func.clock_timestamp())).where(
            SchedulerSweep.finished_at.is_(None),
            SchedulerSweep.scheduler_id != scheduler_id,
            SchedulerSweep.started_at > func.clock_timestamp() - cutoff,
        )
    )
    return max(float(remaining or 0.0), 0.0)


async def start_sweep(session: AsyncSession, *, scheduler_id: str, lock_pid: int) -> int | None:
    """Log a sweep if, at this instant, the lock connection ``lock_pid`` holds the leader
    lock; None means leadership is lost and the caller must not sweep."""
    fenced = select(literal(scheduler_id, String)).where(_HOLDS_LOCK.bindparams(pid=lock_pid))
    inserted = await session.scalar(
        insert(SchedulerSweep).from_select(["scheduler_id"], fenced).returning(SchedulerSweep.id)
    )
    return int(inserted) if inserted is not None else None


async def finish_sweep(session: AsyncSession, sweep_id: int, *, at: datetime | None = None) -> None:
    """Log a sweep's end: now, or ``at`` (this scheduler's clock) for an end logged late,
    never before the sweep's start."""
    ended = (
        func.clock_timestamp()
        if at is None
        else func.greatest(literal(at, DateTime(timezone=True)), SchedulerSweep.started_at)
    )
    await session.execute(update(SchedulerSweep).where(SchedulerSweep.id == sweep_id).values(finished_at=ended))


async def forget_old_sweeps(session: AsyncSession, *, keep: timedelta = timedelta(days=1)) -> int:
    result = await session.execute(
        delete(SchedulerSweep).where(SchedulerSweep.started_at < func.clock_timestamp() - keep)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def last_sweep(conn: AsyncConnection) -> dict[str, Any] | None:
    """The latest sweep (for ``registry status`` and ``/readyz``)."""
    row = (
        (
            await conn.execute(
                select(SchedulerSweep.scheduler_id, SchedulerSweep.started_at, SchedulerSweep.finished_at)
                .order_by(SchedulerSweep.id.desc())
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


class SweepRunRecord(NamedTuple):
    name: str
    started: float  # Unix time
    seconds: float
    failed: bool


async def record_sweep_runs(session: AsyncSession, *, scheduler_id: str, runs: list[SweepRunRecord]) -> None:
    """Each named sweep's last run, in one statement."""
    rows = [
        {
            "name": run.name,
            "scheduler_id": scheduler_id,
            "last_run_at": datetime.fromtimestamp(run.started, UTC),
            "duration_seconds": run.seconds,
            "failed": run.failed,
        }
        for run in runs
    ]
    statement = pg_insert(SweepRun).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[SweepRun.name],
            set_={
                "scheduler_id": statement.excluded.scheduler_id,
                "last_run_at": statement.excluded.last_run_at,
                "duration_seconds": statement.excluded.duration_seconds,
                "failed": statement.excluded.failed,
            },
        )
    )


async def sweep_runs(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every named sweep's last run, by name."""
    rows = await conn.execute(
        select(
            SweepRun.name, SweepRun.scheduler_id, SweepRun.last_run_at, SweepRun.duration_seconds, SweepRun.failed
        ).order_by(SweepRun.name)
    )
    return [dict(row) for row in rows.mappings()]
