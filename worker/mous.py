"""Actors for MoUs: the calendar's part of their lifecycle."""

import logging
import uuid

from services.clock import clock
from services.mous.service import apply_due_transition, remind_due_reviews
from services.principals import SYSTEM
from services.unit_of_work import unit_of_work
from worker.actors import actor

logger = logging.getLogger("worker.mous")


@actor(actor_name="mous.apply_due_transition", max_retries=5, min_backoff=1000)
async def apply_mou_transition(mou_id: str) -> None:
    """Activate a signed MoU whose effective date has come, or expire one past its end date.
    Idempotent: a MoU already moved (or locked by another worker) is left alone."""
    async with unit_of_work() as session:
        done = await apply_due_transition(session, mou_id=uuid.UUID(mou_id), actor=SYSTEM)
    if done:
        logger.info("MoU %s %s", mou_id, done)


@actor(actor_name="mous.remind_due_reviews", max_retries=5, min_backoff=1000)
async def remind_reviews() -> None:
    """Remind the parties of MoU reviews falling due (once per review date)."""
    async with unit_of_work() as session:
        reminded = await remind_due_reviews(session, today=clock.today())
    if reminded:
        logger.info("%d MoU reviews falling due", reminded)
