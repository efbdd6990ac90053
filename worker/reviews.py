"""Actors for effectiveness reviews: the calendar's part of their cycle."""

import logging

from services.clock import clock
from services.reviews.service import open_due_cycles, remind_and_mark_overdue
from services.unit_of_work import unit_of_work
from worker.actors import actor

logger = logging.getLogger("worker.reviews")


@actor(actor_name="reviews.open_due_cycles", max_retries=5, min_backoff=1000)
async def open_cycles() -> None:
    """Open every review cycle that has fallen due (late ones too). Idempotent: a policy
    another worker holds is skipped, and each policy's next due date moves with the cycle."""
    async with unit_of_work() as session:
        opened = await open_due_cycles(session, today=clock.today())
    if opened:
        logger.info("opened %d review cycles", opened)


@actor(actor_name="reviews.follow_up", max_retries=5, min_backoff=1000)
async def follow_up() -> None:
    """Reminders before cycles and recommendations fall due, and ``overdue`` after."""
    async with unit_of_work() as session:
        counts = await remind_and_mark_overdue(session, today=clock.today())
    if any(counts.values()):
        logger.info("reviews: %(reminded)d reminders, %(overdue)d newly overdue", counts)
