"""The bookkeeping both delivery actors share (``webhooks.deliver``, ``mail.send``): their
messages, and running one through the delivery engine.

One broker message per batch of due deliveries: a row is marked queued (in a committed
transaction) before its message is sent, and neither the relay nor the scheduler sends
another while the mark holds. The broker's queue is thus bounded by the number of due
deliveries, even while every worker is stopped. The mark holds briefly until the broker has
the message, then ``DELIVERY_QUEUE_HOLD_SECONDS`` (services/delivery/leases.py): a process
that dies between the two lets its rows go within seconds, and a message the broker lost is
sent again once the long mark lapses."""

import asyncio
import logging
import uuid
from typing import Any

import dramatiq

from services import context
from services.clock import clock
from services.database import get_database, is_outage, is_read_only, read_only_episode
from services.delivery.engine import send_batch
from services.delivery.leases import Queued, claim_due_for_queue, confirm_queued, mark_queued, unmark_queued
from services.delivery.transport import Transport
from services.observability.metrics import DELIVERIES, EMAIL_DELIVERIES, ENDPOINTS_DISABLED, WEBHOOK_DELIVERIES
from services.settings import get_settings
from services.unit_of_work import autocommit_write, unit_of_work
from worker.actors import DeclaredActor

logger = logging.getLogger("worker.queueing")

OUTAGE_RETRIES = 8  # backoff 0.5 s doubling to 15 s: about a minute of database outage


def retry_outages(retries: int, error: BaseException) -> bool:
    """A delivery's message outlives a database outage (the same message is retried with
    backoff, so its row stays marked queued); any other failure dead-letters it, the mark
    lapses and the scheduler sends a new one, counted in ``queued_count``."""
    return retries < OUTAGE_RETRIES and is_outage(error)


def message_options(request_id: str | None) -> dict[str, Any]:
    """A message's options: the request id it carries, when there is one."""
    return {"request_id": request_id} if request_id else {}


# Deliveries one message carries: one lease statement, concurrent sends and one statement
# recording their outcomes for all of them (a message each cost a broker round trip and
# four database round trips per delivery). Small enough that a backlog still spreads over
# every worker process, and that a batch whose endpoints all time out ends well inside the
# time limit (services.delivery.transports.webhook.POSTS_AT_ONCE).
DELIVERIES_PER_MESSAGE = 10

# Options for the actors that send deliveries.
DELIVERY_ACTOR_OPTIONS: dict[str, Any] = {"retry_when": retry_outages, "min_backoff": 500, "max_backoff": 15_000}


def _batches(queued: list[Queued], per_message: int) -> list[tuple[list[uuid.UUID], str | None]]:
    """``queued`` in messages of up to ``per_message`` rows, each with the request id its
    rows share (none when they differ: the actor then sets each row's own as it goes)."""
    batches = []
    for start in range(0, len(queued), per_message):
        chunk = queued[start : start + per_message]
        request_ids = {request_id for _, request_id in chunk}
        batches.append(
            ([delivery_id for delivery_id, _ in chunk], request_ids.pop() if len(request_ids) == 1 else None)
        )
    return batches


def _send_each(actor: DeclaredActor[..., Any], queued: list[Queued], per_message: int) -> tuple[int, Exception | None]:
    sent = 0
    for delivery_ids, request_id in _batches(queued, per_message):
        try:
            # The request id rides along as a message option: the worker's log lines and
            # anything the actor records carry it (worker.observability).
            if per_message == 1:
                args: tuple[Any, ...] = (str(delivery_ids[0]),)
            else:
                args = ([str(delivery_id) for delivery_id in delivery_ids],)
            actor.send_with_options(args=args, **message_options(request_id))
        except Exception as error:  # the broker is away: the rest stay for the next sweep
            return sent, error
        sent += len(delivery_ids)
    return sent, None


async def enqueue(
    actor: DeclaredActor[..., Any],
    model: Any,
    delivery_ids: list[uuid.UUID] | None = None,
    *,
    per_message: int = 1,
) -> int:
    """Send ``actor`` messages for the deliveries that have none queued: the given ids (new
    deliveries), or every due one (``None``, the scheduler's sweep). With ``per_message``
    1 a message carries one id; above, a list of up to that many. Returns how many
    deliveries were sent; raises when the broker refused some (those are unmarked first)."""
    if delivery_ids is not None and not delivery_ids:
        return 0
    async with unit_of_work() as session:
        if delivery_ids is None:
            marked = await claim_due_for_queue(session, model, now=clock.now())
        else:
            marked = await mark_queued(session, model, delivery_ids, now=clock.now())
    return await send_marked(actor, model, marked, per_message=per_message)


async def send_marked(actor: DeclaredActor[..., Any], model: Any, marked: list[Queued], *, per_message: int) -> int:
    """The messages for deliveries marked queued already (committed): ``per_message`` each.
    Returns how many deliveries were sent; raises when the broker refused some (those are
    unmarked first, so that the next sweep sends them)."""
    if not marked:
        return 0
    sent, error = await asyncio.to_thread(_send_each, actor, marked, per_message)
    if sent:
        await _confirm(model, [delivery_id for delivery_id, _ in marked[:sent]])
    if error is not None:
        try:
            async with unit_of_work() as session:
                await unmark_queued(session, model, [delivery_id for delivery_id, _ in marked[sent:]])
        except Exception:  # the marks lapse by themselves
            logger.warning("could not unmark %d deliveries the broker refused", len(marked) - sent, exc_info=True)
        raise error
    return sent


async def _confirm(model: Any, delivery_ids: list[uuid.UUID]) -> None:
    """The broker has these rows' messages: their marks hold ``DELIVERY_QUEUE_HOLD_SECONDS``.
    Should this fail, the short marks lapse and the next sweep sends the rows again, which
    is harmless (the lease lets one worker send each)."""
    hold = get_settings().delivery_queue_hold_seconds
    try:
        async with autocommit_write() as conn:
            await confirm_queued(conn, model, delivery_ids, now=clock.now(), hold_seconds=hold)
    except Exception as error:
        if is_read_only(error):  # said once per read-only spell, not once per message
            read_only_episode.met("confirming queued deliveries (they may be sent twice)")
            return
        logger.warning(
            "could not confirm %d queued deliveries; they may be sent twice", len(delivery_ids), exc_info=True
        )


def _count(transport: Transport, outcome: str) -> None:
    DELIVERIES.labels(transport.name, outcome).inc()
    if transport.name == "webhook":
        WEBHOOK_DELIVERIES.labels(outcome).inc()
        if outcome == "disabled":  # webhook_endpoint.disabled recorded: its unit of work nudged the relay
            ENDPOINTS_DISABLED.inc()
    else:
        EMAIL_DELIVERIES.labels("sent" if outcome == "succeeded" else outcome).inc()


async def deliver(transport: Transport, delivery_ids: list[str] | str, log: logging.Logger) -> None:
    """An actor's message: attempt the due ones among its deliveries (each a no-op when it is
    not due, done, or leased by another worker), log and count each outcome. Retries are rows
    with a due time that the scheduler hands back, not broker retries (except through a
    database outage, when the message itself waits). A single id is a message sent before
    batches."""
    ids = [delivery_ids] if isinstance(delivery_ids, str) else delivery_ids
    try:
        sent = await send_batch(get_database(), transport, [uuid.UUID(i) for i in ids])
    except Exception as error:
        if not is_read_only(error):
            raise
        # The message waits with backoff as through any outage (retry_outages); the spell is
        # logged once as it begins, not as a traceback per message.
        read_only_episode.met(f"{transport.name} deliveries")
        raise dramatiq.Retry(f"the database is read-only: {transport.name} deliveries wait") from error
    read_only_episode.ended()
    for one in sent:
        token = context.request_id.set(one.request_id)  # each line under its own delivery's request id
        try:
            log.info("%s delivery %s: %s", transport.name, one.delivery_id, one.outcome)
        finally:
            context.request_id.reset(token)
        _count(transport, one.outcome)
