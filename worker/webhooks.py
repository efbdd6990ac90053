"""Actors for webhooks: send a batch of deliveries."""

import logging
import uuid

from services import context
from services.database import get_database
from services.leases import Queued
from services.observability.metrics import ENDPOINTS_DISABLED, WEBHOOK_DELIVERIES
from services.webhooks.delivery import send_batch
from services.webhooks.models import WebhookDelivery
from worker.actors import actor
from worker.queueing import DELIVERY_ACTOR_OPTIONS, enqueue, send_marked

logger = logging.getLogger("worker.webhooks")

# Deliveries one message carries: one lease statement, concurrent posts and one statement
# recording their successes for all of them (a message each cost a broker round trip and
# four database round trips per delivery). Small enough that a backlog still spreads over
# every worker process, and that a batch whose endpoints all time out ends well inside the
# time limit (services.webhooks.delivery.POSTS_AT_ONCE).
DELIVERIES_PER_MESSAGE = 10


@actor(actor_name="webhooks.deliver", **DELIVERY_ACTOR_OPTIONS, time_limit=60_000)
async def deliver_webhooks(delivery_ids: list[str] | str) -> None:
    """Attempt the due ones among a batch of deliveries (each a no-op when it is not due,
    done, or leased by another worker). Retries are rows with a due time that the scheduler
    hands back, not broker retries (except through a database outage, when the message
    itself waits). A single id is a message sent before batches."""
    ids = [delivery_ids] if isinstance(delivery_ids, str) else delivery_ids
    sent = await send_batch(get_database(), [uuid.UUID(i) for i in ids])
    for one in sent:
        token = context.request_id.set(one.request_id)  # each line under its own delivery's request id
        try:
            logger.info("webhook delivery %s: %s", one.delivery_id, one.outcome)
        finally:
            context.request_id.reset(token)
        WEBHOOK_DELIVERIES.labels(one.outcome).inc()
        if one.outcome == "disabled":  # webhook_endpoint.disabled recorded: its unit of work nudged the relay
            ENDPOINTS_DISABLED.inc()


async def send_new_deliveries(marked: list[Queued]) -> int:
    """The relay's new deliveries, marked queued as they were made: their messages."""
    return await send_marked(deliver_webhooks, WebhookDelivery, marked, per_message=DELIVERIES_PER_MESSAGE)


async def send_deliveries(delivery_ids: list[uuid.UUID] | None = None) -> int:
    """Messages for the deliveries not already queued, ``DELIVERIES_PER_MESSAGE`` each: the
    given new ones, or (``None``) every due one. Returns how many deliveries were sent."""
    return await enqueue(deliver_webhooks, WebhookDelivery, delivery_ids, per_message=DELIVERIES_PER_MESSAGE)
