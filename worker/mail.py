"""Actors for e-mail: send a batch of e-mail deliveries through the delivery engine's SMTP
transport (``services/delivery/``); the bookkeeping is ``worker/queueing.py``'s."""

import logging
import uuid

from services.delivery.senders import EMAIL
from services.mail.models import EmailDelivery
from worker.actors import actor
from worker.queueing import DELIVERIES_PER_MESSAGE, DELIVERY_ACTOR_OPTIONS, deliver, enqueue

logger = logging.getLogger("worker.mail")


@actor(actor_name="mail.send", **DELIVERY_ACTOR_OPTIONS, time_limit=100_000)
async def send_mail(delivery_ids: list[str] | str) -> None:
    """Attempt the due ones among a batch of e-mail deliveries (a single id: a message sent
    before batches)."""
    await deliver(EMAIL, delivery_ids, logger)


async def send_mails(delivery_ids: list[uuid.UUID] | None = None) -> int:
    """Messages for the e-mail deliveries not already queued, ``DELIVERIES_PER_MESSAGE``
    each: the given new ones, or (``None``) every due one. Returns how many were sent."""
    return await enqueue(send_mail, EmailDelivery, delivery_ids, per_message=DELIVERIES_PER_MESSAGE)
