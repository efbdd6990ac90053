"""Actors for commitments: following pledges up as their due dates come and pass."""

import logging

from services.clock import clock
from services.commitments.service import follow_up_pledges
from services.settings import get_settings
from services.unit_of_work import unit_of_work
from worker.actors import actor

logger = logging.getLogger("worker.commitments")


@actor(actor_name="commitments.follow_up_pledges", max_retries=5, min_backoff=1000)
async def follow_up() -> None:
    """``pledge.due_soon`` at each reminder offset before an open pledge's due date and
    ``pledge.overdue`` after it, each once (the pledge records what it was told)."""
    offsets = get_settings().pledge_reminder_offsets_days
    async with unit_of_work() as session:
        counts = await follow_up_pledges(session, today=clock.today(), offsets=offsets)
    if any(counts.values()):
        logger.info("pledges: %(due_soon)d reminders, %(overdue)d newly overdue", counts)
