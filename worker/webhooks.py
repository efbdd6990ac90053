"""Actors for webhooks: send a batch of deliveries through the delivery engine's webhook
transport (``services/delivery/``); the bookkeeping is ``worker/queueing.py``'s."""

import logging
import uuid

from services.delivery.leases import Queued
from services.delivery.senders import WEBHOOK
from services.webhooks.models import WebhookDelivery
from worker.actors import actor
from worker.queueing import DELIVERIES_PER_MESSAGE, DELIVERY_ACTOR_OPTIONS, deliver, enqueue, send_marked

logger = logging.getLogger("worker.webhooks")


@actor(actor_name="webhooks.deliver", **DELIVERY_ACTOR_OPTIONS, time_limit=60_000)
async def deliver_webhooks(delivery_ids: list[str] | str) -> None:
    """Attempt the due ones among a batch of webhook deliveries."""
    await deliver(WEBHOOK, delivery_ids, logger)


async def send_new_deliveries(marked: list[Queued]) -> int:
    """The relay's new deliveries, marked queued as they were made: their messages."""
    return await send_marked(deliver_webhooks, WebhookDelivery, marked, per_message=DELIVERIES_PER_MESSAGE)


async def send_deliveries(delivery_ids: list[uuid.UUID] | None = None) -> int:
    """Messages for the deliveries not already queued, ``DELIVERIES_PER_MESSAGE`` each: the
    given new ones, or (``None``) every due one. Returns how many deliveries were sent."""
    return await enqueue(deliver_webhooks, WebhookDelivery, delivery_ids, per_message=DELIVERIES_PER_MESSAGE)
