"""Actors for workplans: the calendar's part of their activities."""

import logging

from services.clock import clock
from services.unit_of_work import unit_of_work
from services.workplans.service import report_overdue_activities
from worker.actors import actor

logger = logging.getLogger("worker.workplans")


@actor(actor_name="workplans.report_overdue", max_retries=5, min_backoff=1000)
async def report_overdue() -> None:
    """``activity.overdue`` for activities past their end date and not completed (once per
    end date). Idempotent: each activity is marked with the end date it was reported for."""
    async with unit_of_work() as session:
        reported = await report_overdue_activities(session, today=clock.today())
    if reported:
        logger.info("%d workplan activities newly overdue", reported)
