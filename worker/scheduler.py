"""The scheduler: one leader (a PostgreSQL advisory lock) sweeps for due work on an interval
and hands it to the workers. Other instances wait to take over."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import dramatiq
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.clock import clock
from services.database import get_database
from services.events.relay import has_pending_events
from services.idempotency.service import purge_expired_keys
from services.mail.sender import due_email_ids
from services.meetings.service import due_reminder_exists
from services.mous.repository import due_for_transition
from services.settings import get_settings
from services.webhooks.repository import due_delivery_ids
from worker.events import relay_events, unit_of_work
from worker.mail import send_mails
from worker.meetings import check_annual_rule, send_reminders
from worker.mous import apply_mou_transition, remind_reviews
from worker.reviews import follow_up, open_cycles
from worker.webhooks import send_deliveries

logger = logging.getLogger("worker.scheduler")

# Any constant shared by every scheduler instance; "MNR" + "sched".
LEADER_LOCK_KEY = 0x4D4E52_5343


async def sweep_pending_events() -> None:
    """Events whose nudge was lost (a crash between commit and send) still get relayed."""
    async with get_database().read() as conn:
        pending = await has_pending_events(conn)
    if pending:
        await asyncio.to_thread(relay_events.send)


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
    """Retries that are due, and deliveries whose worker died mid-send (their lease lapsed)."""
    async with get_database().read() as conn:
        due = await due_delivery_ids(conn, now=clock.now())
    await send_deliveries(due)


async def sweep_due_emails() -> None:
    async with get_database().read() as conn:
        due = await due_email_ids(conn)
    await send_mails(due)


async def sweep_due_reminders() -> None:
    async with get_database().read() as conn:
        due = await due_reminder_exists(conn, now=clock.now())
    if due:
        await asyncio.to_thread(send_reminders.send)


def sending(actor: dramatiq.Actor[Any, Any], name: str) -> Callable[[], Awaitable[None]]:
    """A sweep that hands ``actor`` one message: for work the actor finds due by itself."""

    async def sweep() -> None:
        await asyncio.to_thread(actor.send)

    sweep.__name__ = sweep.__qualname__ = name
    return sweep


sweep_annual_meeting_rule = sending(check_annual_rule, "sweep_annual_meeting_rule")
sweep_mou_reviews = sending(remind_reviews, "sweep_mou_reviews")
sweep_review_cycles = sending(open_cycles, "sweep_review_cycles")
sweep_review_follow_up = sending(follow_up, "sweep_review_follow_up")


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
)


async def run_sweeps(last_run: dict[str, float] | None = None) -> None:
    """Every sweep that is due; ``last_run`` (kept by the caller) spaces out the slow ones."""
    last_run = {} if last_run is None else last_run
    for sweep in SWEEPS:
        name = sweep.run.__name__
        if time.monotonic() - last_run.get(name, float("-inf")) < sweep.every:
            continue
        last_run[name] = time.monotonic()
        try:
            await sweep.run()
        except Exception:
            logger.exception("sweep %s failed; it runs again next interval", name)


async def _try_lead(connection: AsyncConnection) -> bool:
    return bool(await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK_KEY}))


async def run_scheduler(
    stop: asyncio.Event, *, interval: float | None = None, sweep: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Sweep (``run_sweeps`` unless told otherwise) every ``interval`` seconds while leader,
    until ``stop`` is set. The lock lives on one held connection: if this process dies,
    PostgreSQL releases it."""
    last_run: dict[str, float] = {}
    sweep = sweep or (lambda: run_sweeps(last_run))
    interval = interval if interval is not None else get_settings().scheduler_interval_seconds
    database = get_database()
    leading = False
    while not stop.is_set():
        try:
            async with database.read_engine.connect() as connection:
                while not stop.is_set():
                    if not leading:
                        leading = await _try_lead(connection)
                        if leading:
                            logger.info("this scheduler is the leader")
                    if leading:
                        await sweep()
                    else:
                        await connection.scalar(text("SELECT 1"))  # notice a lost database early
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=interval)
                if leading:
                    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK_KEY})
        except Exception:
            leading = False
            logger.exception("scheduler lost its database connection; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
