"""One broker message per due delivery: a row is marked queued (in a committed transaction)
before its message is sent, and neither the relay nor the scheduler sends another while
the mark holds. The broker's queue is thus bounded by the number of due deliveries, even
while every worker is stopped; a message the broker lost is sent again once the mark
lapses (``DELIVERY_QUEUE_HOLD_SECONDS``)."""

import asyncio
import logging
import uuid
from typing import Any

import dramatiq

from services.clock import clock
from services.database import get_database, is_outage
from services.leases import claim_due_for_queue, mark_queued, unmark_queued
from services.settings import get_settings

logger = logging.getLogger("worker.queueing")

OUTAGE_RETRIES = 8  # backoff 0.5 s doubling to 15 s: about a minute of database outage


def retry_outages(retries: int, error: BaseException) -> bool:
    """A delivery's message outlives a database outage (the same message is retried with
    backoff, so its row stays marked queued); any other failure dead-letters it, the mark
    lapses and the scheduler sends a new one, counted in ``queued_count``."""
    return retries < OUTAGE_RETRIES and is_outage(error)


# Options for the actors that send one delivery.
DELIVERY_ACTOR_OPTIONS: dict[str, Any] = {"retry_when": retry_outages, "min_backoff": 500, "max_backoff": 15_000}


def _send_each(actor: dramatiq.Actor[Any, Any], delivery_ids: list[uuid.UUID]) -> tuple[int, Exception | None]:
    for sent, delivery_id in enumerate(delivery_ids):
        try:
            actor.send(str(delivery_id))
        except Exception as error:  # the broker is away: the rest stay for the next sweep
            return sent, error
    return len(delivery_ids), None


async def enqueue(actor: dramatiq.Actor[Any, Any], model: Any, delivery_ids: list[uuid.UUID] | None = None) -> int:
    """Send ``actor`` one message per delivery that has none queued: the given ids (new
    deliveries), or every due one (``None``, the scheduler's sweep). Returns how many were
    sent; raises when the broker refused some (those are unmarked first)."""
    if delivery_ids is not None and not delivery_ids:
        return 0
    hold = get_settings().delivery_queue_hold_seconds
    database = get_database()
    async with database.session() as session:
        if delivery_ids is None:
            marked = await claim_due_for_queue(session, model, now=clock.now(), hold_seconds=hold)
        else:
            marked = await mark_queued(session, model, delivery_ids, now=clock.now(), hold_seconds=hold)
    if not marked:
        return 0
    sent, error = await asyncio.to_thread(_send_each, actor, marked)
    if error is not None:
        try:
            async with database.session() as session:
                await unmark_queued(session, model, marked[sent:])
        except Exception:  # the marks lapse by themselves
            logger.warning("could not unmark %d deliveries the broker refused", len(marked) - sent, exc_info=True)
        raise error
    return sent
