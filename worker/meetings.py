"""Actors for meetings: reminders that fall due, and the annual-meeting rule."""

import logging

from services.clock import clock
from services.meetings.compliance import alert_overdue_networks
from services.meetings.service import send_due_reminders
from services.unit_of_work import unit_of_work
from worker.actors import actor

logger = logging.getLogger("worker.meetings")


@actor(actor_name="meetings.send_due_reminders", max_retries=5, min_backoff=1000)
async def send_reminders() -> None:
    """Send every due reminder once (rows are claimed with SKIP LOCKED, marked sent with their event)."""
    while True:
        async with unit_of_work() as session:
            sent = await send_due_reminders(session, now=clock.now())
        if sent:
            logger.info("sent %d meeting reminders", sent)
        if sent == 0:
            break


@actor(actor_name="meetings.check_annual_rule", max_retries=5, min_backoff=1000)
async def check_annual_rule() -> None:
    """Alert each network whose extended membership has not met within 12 months, once per lapse."""
    async with unit_of_work() as session:
        alerted = await alert_overdue_networks(session, today=clock.today())
    if alerted:
        logger.info("%d networks overdue for their annual extended-membership meeting", alerted)
