"""Actors for webhooks: send one delivery."""

import asyncio
import logging
import uuid

import dramatiq

from services.database import get_database
from services.webhooks.delivery import send_delivery
from worker.broker import broker

logger = logging.getLogger("worker.webhooks")


@dramatiq.actor(actor_name="webhooks.deliver", broker=broker, max_retries=0, time_limit=60_000)
async def deliver_webhook(delivery_id: str) -> None:
    """Attempt a due delivery (a no-op when it is not due, done, or leased by another worker).
    Retries are rows with a due time that the scheduler hands back, not broker retries."""
    outcome = await send_delivery(get_database(), uuid.UUID(delivery_id))
    if outcome:
        logger.info("webhook delivery %s: %s", delivery_id, outcome)
    if outcome == "disabled":  # webhook_endpoint.disabled was recorded: its owner hears now, not at the next sweep
        from worker.events import nudge_relay  # worker.events imports this module

        await nudge_relay()


async def send_deliveries(delivery_ids: list[uuid.UUID]) -> None:
    for delivery_id in delivery_ids:
        await asyncio.to_thread(deliver_webhook.send, str(delivery_id))
