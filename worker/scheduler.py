"""The scheduler: one leader (a PostgreSQL advisory lock) sweeps for due work on an interval
and hands it to the workers. Other instances wait to take over."""

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.clock import clock
from services.database import Database, get_database, is_outage, is_read_only, read_only_episode
from services.delivery.relay import has_pending_events
from services.idempotency.service import purge_expired_keys
from services.meetings.service import due_reminder_exists
from services.mous.repository import due_for_transition
from services.observability.metrics import sweep_clock
from services.scheduling import repository as leadership
from services.scheduling.repository import SweepRunRecord
from services.settings import get_settings
from services.unit_of_work import session_lock_connections, unit_of_work
from worker.actors import DeclaredActor
from worker.commitments import follow_up as follow_up_pledges
from worker.events import relay_events
from worker.mail import send_mails
from worker.meetings import check_annual_rule, send_reminders
from worker.mous import apply_mou_transition, remind_reviews
from worker.reviews import follow_up, open_cycles
from worker.webhooks import send_deliveries
from worker.workplans import report_overdue

logger = logging.getLogger("worker.scheduler")

LEADER_LOCK_KEY = leadership.LEADER_LOCK_KEY


RELAY_RESEND_SECONDS = 5.0
_relay_sent_at = float("-inf")


async def sweep_pending_events() -> None:
    """Events whose nudge was lost (a crash between commit and send) still get relayed. At
    most one message per RELAY_RESEND_SECONDS: while no worker runs, the queue must not
    fill with relay messages, one per sweep."""
    global _relay_sent_at
    if time.monotonic() - _relay_sent_at < RELAY_RESEND_SECONDS:
        return
    async with get_database().read() as conn:
        pending = await has_pending_events(conn)
    if pending:
        await asyncio.to_thread(relay_events.send)
        _relay_sent_at = time.monotonic()


async def sweep_idempotency_keys() -> None:
    async with unit_of_work() as session:
        purged = await purge_expired_keys(session, now=clock.now())
    if purged:
        logger.info("forgot %d expired idempotency keys", purged)


async def sweep_due_mous() -> None:
    """MoUs whose effective date has come or whose end date has passed, one message each."""
    async with get_database().read() as conn:
        due = await due_for_transition(conn, today=clock.today())
    for mou_id in due:
        await asyncio.to_thread(apply_mou_transition.send, str(mou_id))


async def sweep_due_deliveries() -> None:
    """Retries that are due, and deliveries whose worker died mid-send (their lease lapsed):
    one message each, unless one is already queued."""
    await send_deliveries()


async def sweep_due_emails() -> None:
    await send_mails()


async def sweep_due_reminders() -> None:
    async with get_database().read() as conn:
        due = await due_reminder_exists(conn, now=clock.now())
    if due:
        await asyncio.to_thread(send_reminders.send)


def sending(actor: DeclaredActor[..., Any], name: str) -> Callable[[], Awaitable[None]]:
    """A sweep that hands ``actor`` one message: for work the actor finds due by itself."""

    async def sweep() -> None:
        await asyncio.to_thread(actor.send)

    sweep.__name__ = sweep.__qualname__ = name
    return sweep


sweep_annual_meeting_rule = sending(check_annual_rule, "sweep_annual_meeting_rule")
sweep_mou_reviews = sending(remind_reviews, "sweep_mou_reviews")
sweep_review_cycles = sending(open_cycles, "sweep_review_cycles")
sweep_review_follow_up = sending(follow_up, "sweep_review_follow_up")
sweep_overdue_activities = sending(report_overdue, "sweep_overdue_activities")
sweep_pledges = sending(follow_up_pledges, "sweep_pledges")


@dataclass(frozen=True)
class Sweep:
    run: Callable[[], Awaitable[None]]
    every: float = 0.0  # at least this many seconds between runs; 0: every interval


HOURLY = 3600.0
SWEEPS: tuple[Sweep, ...] = (
    Sweep(sweep_pending_events),
    Sweep(sweep_due_mous),
    Sweep(sweep_due_deliveries),
    Sweep(sweep_due_emails),
    Sweep(sweep_due_reminders),
    Sweep(sweep_idempotency_keys, every=HOURLY),  # keys live 24 hours; purging hourly is plenty
    Sweep(sweep_annual_meeting_rule, every=HOURLY),  # a rule measured in months
    Sweep(sweep_mou_reviews, every=HOURLY),  # review dates are days
    Sweep(sweep_review_cycles, every=HOURLY),  # so are review cycles' opening and due dates
    Sweep(sweep_review_follow_up, every=HOURLY),
    Sweep(sweep_overdue_activities, every=HOURLY),  # end dates are days
    Sweep(sweep_pledges, every=HOURLY),  # so are due dates and reminder offsets
)


async def run_sweeps(last_run: dict[str, float] | None = None, *, scheduler_id: str = "") -> None:
    """Every sweep that is due; ``last_run`` (kept by the caller) spaces out the slow ones.
    Each sweep's start and duration go to the metrics and, once all have run, to
    ``scheduler_sweep_runs`` (for ``registry status``)."""
    last_run = {} if last_run is None else last_run
    runs: list[SweepRunRecord] = []
    for sweep in SWEEPS:
        name = sweep.run.__name__
        if time.monotonic() - last_run.get(name, float("-inf")) < sweep.every:
            continue
        last_run[name] = time.monotonic()
        started, failed = time.time(), False
        try:
            await sweep.run()
        except Exception:
            failed = True
            logger.exception("sweep %s failed; it runs again next interval", name)
        seconds = time.time() - started
        sweep_clock.record(name, started=started, seconds=seconds, failed=failed)
        runs.append(SweepRunRecord(name, started, seconds, failed))
    if runs:
        try:
            async with unit_of_work() as session:
                await leadership.record_sweep_runs(session, scheduler_id=scheduler_id, runs=runs)
        except Exception:  # an operator's view; the sweeps themselves have run
            logger.warning("could not record the sweeps' last runs", exc_info=True)


def new_scheduler_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


async def _await_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class LeadershipLost(Exception):
    """The lock connection no longer holds the leader lock: stop sweeping, reconnect."""


def _still_speaking(speaking: asyncio.Task[None] | None) -> None:
    """Raise LeadershipLost when the leader's statements on its lock connection have failed
    (PostgreSQL ended a connection that fell silent: the process was frozen)."""
    if speaking is not None and speaking.done() and speaking.exception() is not None:
        raise LeadershipLost() from speaking.exception()


@dataclass
class _Scheduler:
    database: Database
    sweep: Callable[[], Awaitable[None]]
    interval: float
    cutoff: float  # a sweep is cut off after this many seconds
    silence: float  # PostgreSQL ends a lock connection silent this long, and its lock
    scheduler_id: str
    pruned_at: float = float("-inf")
    # A sweep that ended while its end could not be logged (the database went away): its id
    # and when it ended, logged as soon as the database answers again (before this scheduler
    # sweeps again), so the log never shows the sweep running on past its end.
    unlogged_end: tuple[int, datetime] | None = None

    async def lead(self, connection: AsyncConnection, stop: asyncio.Event) -> None:
        """Stand by on ``connection`` until it takes the lock, then sweep until stopped."""
        async with asyncio.timeout(self.cutoff):
            lock_pid = await leadership.backend_pid(connection)
        if self.unlogged_end is not None:
            async with asyncio.timeout(self.cutoff), unit_of_work(database=self.database) as session:
                await leadership.finish_sweep(session, self.unlogged_end[0], at=self.unlogged_end[1])
            self.unlogged_end = None
        leading = False
        quiet = asyncio.Event()  # set: the leader stops speaking on its lock connection
        speaking: asyncio.Task[None] | None = None
        try:
            while not stop.is_set():
                if not leading:
                    async with asyncio.timeout(self.cutoff):
                        leading = await leadership.try_lead(connection)
                    if leading:
                        logger.info("scheduler %s is the leader", self.scheduler_id)
                        speaking = asyncio.create_task(self._speak(connection, quiet))
                        await self._wait_for_others(stop)
                elif not stop.is_set():
                    _still_speaking(speaking)
                    await self._fenced_sweep(lock_pid)
                    read_only_episode.ended()
                if not leading:
                    async with asyncio.timeout(self.cutoff):
                        await connection.scalar(text("SELECT 1"))  # notice a lost database early
                await _await_stop(stop, self.interval)
        finally:
            quiet.set()
            if speaking is not None:
                await asyncio.wait([speaking])  # its statement ends before the connection is used again
        if leading:
            _still_speaking(speaking)
            await leadership.release(connection)

    async def _speak(self, connection: AsyncConnection, quiet: asyncio.Event) -> None:
        """While leading, a statement on the lock connection every third of the silence
        PostgreSQL allows it, whatever the sweeps are doing: a live leader keeps its lock,
        a frozen one loses it. Ends when ``quiet`` is set, or with the error that ended the
        connection."""
        every = self.silence / 3
        while not quiet.is_set():
            await _await_stop(quiet, every)
            if not quiet.is_set():
                async with asyncio.timeout(every):
                    await connection.scalar(text("SELECT 1"))

    async def _wait_for_others(self, stop: asyncio.Event) -> None:
        async with asyncio.timeout(self.cutoff), unit_of_work(database=self.database) as session:
            wait = await leadership.seconds_until_others_stop(
                session, scheduler_id=self.scheduler_id, sweep_timeout=self.cutoff
            )
        if wait > 0:
            logger.info("waiting %.1f s for the previous leader's last sweep to end", wait)
            await _await_stop(stop, wait)

    async def _fenced_sweep(self, lock_pid: int) -> None:
        """One sweep, logged only if the lock is still ours as it starts, and cut off in time."""
        async with asyncio.timeout(self.cutoff), unit_of_work(database=self.database) as session:
            sweep_id = await leadership.start_sweep(session, scheduler_id=self.scheduler_id, lock_pid=lock_pid)
        if sweep_id is None:
            raise LeadershipLost()
        try:
            async with asyncio.timeout(self.cutoff):
                await self.sweep()
        except TimeoutError:
            logger.error("a sweep ran past %.0f s and was cut off; the next one carries on", self.cutoff)
        self.unlogged_end = (sweep_id, datetime.now(UTC))
        async with asyncio.timeout(self.cutoff), unit_of_work(database=self.database) as session:
            await leadership.finish_sweep(session, sweep_id)
            if time.monotonic() - self.pruned_at > HOURLY:
                self.pruned_at = time.monotonic()
                await leadership.forget_old_sweeps(session)
        self.unlogged_end = None


async def run_scheduler(
    stop: asyncio.Event,
    *,
    interval: float | None = None,
    sweep: Callable[[], Awaitable[None]] | None = None,
    sweep_timeout: float | None = None,
    scheduler_id: str | None = None,
) -> None:
    """Sweep (``run_sweeps`` unless told otherwise) every ``interval`` seconds while leader,
    until ``stop`` is set.

    The lock lives on one held, unpooled connection: if this process dies, the connection
    fails or the database restarts, PostgreSQL releases it. Before every sweep the leader
    proves, in the statement that logs the sweep, that this connection still holds the lock,
    and stops sweeping at once when it does not. A new leader first waits for any sweep of
    another scheduler to finish or reach its cut-off (``sweep_timeout``), so sweeps never
    overlap. After an outage, sweeping resumes within about ``interval`` + ``sweep_timeout``
    of the database answering again."""
    settings = get_settings()
    last_run: dict[str, float] = {}
    scheduler = _Scheduler(
        database=get_database(),
        sweep=sweep or (lambda: run_sweeps(last_run, scheduler_id=scheduler.scheduler_id)),
        interval=interval if interval is not None else settings.scheduler_interval_seconds,
        cutoff=sweep_timeout if sweep_timeout is not None else settings.scheduler_sweep_timeout_seconds,
        silence=settings.scheduler_leader_silence_seconds,
        scheduler_id=scheduler_id or new_scheduler_id(),
    )
    # Never pooled: closing this connection, on any error, releases the lock; so does
    # PostgreSQL when it falls silent (the process frozen).
    async with session_lock_connections(
        database=scheduler.database, silent_for_seconds=scheduler.silence
    ) as lock_connection:
        while not stop.is_set():
            try:
                async with lock_connection() as connection:
                    await scheduler.lead(connection, stop)
            except LeadershipLost:
                logger.error("scheduler %s lost the leader lock and stopped sweeping", scheduler.scheduler_id)
            except Exception as error:
                if is_read_only(error):  # not a lost connection: said once per read-only spell
                    read_only_episode.met(f"scheduler {scheduler.scheduler_id} logging its sweep (it stands down)")
                    await _await_stop(stop, scheduler.interval)
                    continue
                logger.warning(
                    "scheduler %s lost its database connection (%s); retrying",
                    scheduler.scheduler_id,
                    type(error).__name__,
                    exc_info=not is_outage(error),  # an outage is expected; anything else is a bug
                )
            await _await_stop(stop, scheduler.interval)
