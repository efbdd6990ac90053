"""Actors for effectiveness reviews: the calendar's part of their cycle."""

import logging

import dramatiq

from services.clock import clock
from services.reviews.service import open_due_cycles, remind_and_mark_overdue
from worker.broker import broker
from worker.events import unit_of_work

logger = logging.getLogger("worker.reviews")


@dramatiq.actor(actor_name="reviews.open_due_cycles", broker=broker, max_retries=5, min_backoff=1000)
async def open_cycles() -> None:
    """Open every review cycle that has fallen due (late ones too). Idempotent: a policy
    another worker holds is skipped, and each policy's next due date moves with the cycle."""
    async with unit_of_work() as session:
        opened = await open_due_cycles(session, today=clock.today())
    if opened:
        logger.info("opened %d review cycles", opened)


@dramatiq.actor(actor_name="reviews.follow_up", broker=broker, max_retries=5, min_backoff=1000)
async def follow_up() -> None:
    """Reminders before cycles and recommendations fall due, and ``overdue`` after."""
    async with unit_of_work() as session:
        counts = await remind_and_mark_overdue(session, today=clock.today())
    if any(counts.values()):
        logger.info("reviews: %(reminded)d reminders, %(overdue)d newly overdue", counts)
