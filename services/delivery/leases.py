"""Delivery rows (webhooks, e-mail) are sent under a lease: a worker claims one for a while,
sends it outside any transaction, then records the outcome. A worker that dies lets go when
the lease lapses, and the scheduler hands the row out again.

A row also carries ``queued_until``: while it lies in the future a broker message for the row
is queued, so neither the relay nor the scheduler sends another (one message per due
delivery, however long the workers are away). A worker that takes the message clears it.
The mark is set in two steps. Marked in the transaction that makes or claims the row, it
holds ``SENDING_HOLD_SECONDS`` only: a process that dies after that commit and before the
broker has the message lets go within that bound, and the scheduler's next sweep sends it.
Once the broker has accepted the message, ``confirm_queued`` holds the mark for
``DELIVERY_QUEUE_HOLD_SECONDS`` (a message the broker itself lost). A message sent twice is
harmless: the lease lets one worker send the row, and the other finds nothing to do.

Both delivery models have ``id``, ``status``, ``attempts``, ``next_attempt_at``, ``lease_until``,
``queued_until`` and ``queued_count``, and their ``status`` is a ``DeliveryStatus``
(``services/delivery_status.py``)."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import clock
from services.delivery_status import DeliveryStatus

SENDING_HOLD_SECONDS = 30.0
"""How long a row's queue mark holds until its message is known to be with the broker."""


def _free(model: Any, now: datetime) -> Any:
    return or_(model.lease_until.is_(None), model.lease_until < now)


def leasing(model: Any, delivery_ids: list[uuid.UUID], *, seconds: float) -> Any:
    """The lease of a batch (the rows a message carries) as one UPDATE, to be given its
    RETURNING (and used as a CTE) by the caller: it claims the pending, due, unleased ones
    among ``delivery_ids`` for ``seconds`` and clears their queue marks."""
    now = clock.now()
    return (
        update(model)
        .where(
            model.id.in_(delivery_ids),
            model.status == DeliveryStatus.PENDING,
            model.next_attempt_at <= now + timedelta(seconds=1),
            _free(model, now),
        )
        .values(lease_until=now + timedelta(seconds=seconds), queued_until=None)
    )


async def clear_spent_marks(conn: AsyncConnection | AsyncSession, model: Any, delivery_ids: list[uuid.UUID]) -> None:
    """The rows of a message that ``leasing`` did not claim (done, not due, held by another
    worker): the message is spent all the same, so the scheduler may send another when due."""
    await conn.execute(
        update(model).where(model.id.in_(delivery_ids), model.queued_until.is_not(None)).values(queued_until=None)
    )


def _unqueued(model: Any, now: datetime) -> Any:
    return or_(model.queued_until.is_(None), model.queued_until < now)


def _mark(model: Any, now: datetime) -> dict[str, Any]:
    return {"queued_until": sending_hold(now), "queued_count": model.queued_count + 1}


def sending_hold(now: datetime) -> datetime:
    """The first step's mark: until when a row marked now holds while its message is sent."""
    return now + timedelta(seconds=SENDING_HOLD_SECONDS)


Queued = tuple[uuid.UUID, str | None]
"""A delivery marked queued: its id, and the request id its message carries."""


async def claim_due_for_queue(session: AsyncSession, model: Any, *, now: datetime, limit: int = 500) -> list[Queued]:
    """Mark up to ``limit`` due rows that are neither leased nor queued as queued, and return
    them: the caller sends one message each after commit. Concurrent callers skip each
    other's rows."""
    candidates = (
        select(model.id)
        .where(model.status == DeliveryStatus.PENDING, model.next_attempt_at <= now, _free(model, now))
        .where(_unqueued(model, now))
        .order_by(model.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.execute(
        update(model)
        .where(model.id.in_(candidates.scalar_subquery()))
        .values(**_mark(model, now))
        .returning(model.id, model.request_id)
    )
    return [(row[0], row[1]) for row in claimed]


async def mark_queued(
    session: AsyncSession, model: Any, delivery_ids: list[uuid.UUID], *, now: datetime
) -> list[Queued]:
    """Mark the given pending rows as queued unless a message for them already is; returns
    the ones marked (new deliveries the relay hands out)."""
    marked = await session.execute(
        update(model)
        .where(model.id.in_(delivery_ids), model.status == DeliveryStatus.PENDING, _unqueued(model, now))
        .values(**_mark(model, now))
        .returning(model.id, model.request_id)
    )
    return [(row[0], row[1]) for row in marked]


async def confirm_queued(
    conn: AsyncConnection, model: Any, delivery_ids: list[uuid.UUID], *, now: datetime, hold_seconds: float
) -> None:
    """The broker has the messages of these rows: hold their marks ``hold_seconds``, those
    still marked (a worker that took a message already has cleared its rows' marks, and
    they stay clear)."""
    await conn.execute(
        update(model)
        .where(model.id.in_(delivery_ids), model.queued_until.is_not(None))
        .values(queued_until=now + timedelta(seconds=hold_seconds))
    )


async def unmark_queued(session: AsyncSession, model: Any, delivery_ids: list[uuid.UUID]) -> None:
    """The broker refused these messages: the next sweep may send them again."""
    await session.execute(update(model).where(model.id.in_(delivery_ids)).values(queued_until=None))


async def queue_states(conn: AsyncConnection, model: Any, *, now: datetime) -> dict[str, Any]:
    """Where a table's pending rows stand, in one statement (the pending rows' partial index):
    ``pending`` (due, waiting for a worker), ``held`` (leased by a worker now),
    ``waiting_for_retry`` (failed before, due again later); ``due`` (pending or held) with
    how long the oldest due row has waited; and ``failed`` (for good, until replayed: its
    own partial index)."""
    due, free = model.next_attempt_at <= now, _free(model, now)
    row = (
        await conn.execute(
            select(
                func.count().filter(due, free),
                func.count().filter(~free),
                func.count().filter(~due, free, model.attempts > 0),
                func.count().filter(due),
                func.min(model.next_attempt_at).filter(due),
                select(func.count()).where(model.status == DeliveryStatus.FAILED).scalar_subquery(),
            ).where(model.status == DeliveryStatus.PENDING)
        )
    ).one()
    oldest: datetime | None = row[4]
    return {
        "pending": int(row[0]),
        "held": int(row[1]),
        "waiting_for_retry": int(row[2]),
        "due": int(row[3]),
        "oldest_due_seconds": round((now - oldest).total_seconds(), 1) if oldest is not None else None,
        "failed": int(row[5]),
    }


async def make_waiting_due(
    conn: AsyncConnection | AsyncSession, model: Any, *conditions: Any, now: datetime
) -> list[uuid.UUID]:
    """Make the pending rows that wait for a retry (and meet ``conditions``) due now, in the
    order they were made (a microsecond apart, so the sweep hands them out in that order);
    returns them. A row leased by a worker is left alone."""
    waiting = (
        select(model.id, func.row_number().over(order_by=model.id).label("place"))
        .where(
            model.status == DeliveryStatus.PENDING, model.attempts > 0, model.next_attempt_at > now, _free(model, now)
        )
        .where(*conditions)
        .subquery("waiting")
    )
    made_due = await conn.execute(
        update(model)
        .where(model.id == waiting.c.id)
        .values(next_attempt_at=literal(now, DateTime(timezone=True)) + waiting.c.place * timedelta(microseconds=1))
        .returning(model.id)
    )
    return sorted(row[0] for row in made_due)
