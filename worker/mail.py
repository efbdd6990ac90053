"""Actors for e-mail: send one message."""

import logging
import uuid

from services.database import get_database
from services.mail.models import EmailDelivery
from services.mail.sender import send_email
from services.observability.metrics import EMAIL_DELIVERIES
from worker.actors import actor
from worker.queueing import DELIVERY_ACTOR_OPTIONS, enqueue

logger = logging.getLogger("worker.mail")


@actor(actor_name="mail.send", **DELIVERY_ACTOR_OPTIONS, time_limit=90_000)
async def send_mail(delivery_id: str) -> None:
    """Send a due e-mail delivery; retries are rows the scheduler hands back."""
    outcome = await send_email(get_database(), uuid.UUID(delivery_id))
    if outcome:
        logger.info("e-mail delivery %s: %s", delivery_id, outcome)
        EMAIL_DELIVERIES.labels(outcome).inc()


async def send_mails(delivery_ids: list[uuid.UUID] | None = None) -> int:
    """One message per e-mail delivery not already queued: the given new ones, or (``None``)
    every due one. Returns how many were sent."""
    return await enqueue(send_mail, EmailDelivery, delivery_ids)
