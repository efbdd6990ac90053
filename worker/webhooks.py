"""Actors for webhooks: send one delivery."""

import logging
import uuid

import dramatiq

from services.database import get_database
from services.webhooks.delivery import send_delivery
from services.webhooks.models import WebhookDelivery
from worker.broker import broker
from worker.queueing import DELIVERY_ACTOR_OPTIONS, enqueue

logger = logging.getLogger("worker.webhooks")


@dramatiq.actor(actor_name="webhooks.deliver", broker=broker, **DELIVERY_ACTOR_OPTIONS, time_limit=60_000)
async def deliver_webhook(delivery_id: str) -> None:
    """Attempt a due delivery (a no-op when it is not due, done, or leased by another worker).
    Retries are rows with a due time that the scheduler hands back, not broker retries
    (except through a database outage, when the message itself waits)."""
    outcome = await send_delivery(get_database(), uuid.UUID(delivery_id))
    if outcome:
        logger.info("webhook delivery %s: %s", delivery_id, outcome)
    if outcome == "disabled":  # webhook_endpoint.disabled was recorded: its owner hears now, not at the next sweep
        from worker.events import nudge_relay  # worker.events imports this module

        await nudge_relay()


async def send_deliveries(delivery_ids: list[uuid.UUID] | None = None) -> int:
    """One message per delivery not already queued: the given new ones, or (``None``) every
    due one. Returns how many were sent."""
    return await enqueue(deliver_webhook, WebhookDelivery, delivery_ids)
