"""Delivery rows (webhooks, e-mail) are sent under a lease: a worker claims one for a while,
sends it outside any transaction, then records the outcome. A worker that dies lets go when
the lease lapses, and the scheduler hands the row out again.

A row also carries ``queued_until``: while it lies in the future a broker message for the row
is queued, so neither the relay nor the scheduler sends another (one message per due
delivery, however long the workers are away). A worker that takes the message clears it.

Both delivery models have ``id``, ``status``, ``attempts``, ``next_attempt_at``, ``lease_until``,
``queued_until`` and ``queued_count``, and their ``status`` is a ``DeliveryStatus``."""

import enum
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import clock


class DeliveryStatus(enum.StrEnum):
    """A delivery row's status, in both delivery tables (PostgreSQL enums
    ``webhook_delivery_status`` and ``email_delivery_status``, the same values)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def _free(model: Any, now: datetime) -> Any:
    return or_(model.lease_until.is_(None), model.lease_until < now)


async def lease(session: AsyncSession, model: Any, delivery_id: uuid.UUID, *, seconds: float) -> int | None:
    """Claim a pending, due, unleased row; returns its attempts so far, or None when it is
    done, not due, or held by another worker."""
    now = clock.now()
    attempts: int | None = await session.scalar(
        update(model)
        .where(
            model.id == delivery_id,
            model.status == DeliveryStatus.PENDING,
            model.next_attempt_at <= now + timedelta(seconds=1),
            _free(model, now),
        )
        .values(lease_until=now + timedelta(seconds=seconds), queued_until=None)
        .returning(model.attempts)
    )
    if attempts is None:  # the message is spent all the same: let the scheduler send another when due
        await session.execute(
            update(model).where(model.id == delivery_id, model.queued_until.is_not(None)).values(queued_until=None)
        )
    return attempts


def leasing(model: Any, delivery_ids: list[uuid.UUID], *, seconds: float) -> Any:
    """``lease`` for several rows as one UPDATE (a message that carries a batch), to be given
    its RETURNING (and used as a CTE) by the caller: it claims the pending, due, unleased
    ones among ``delivery_ids`` and clears their queue marks."""
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


def _mark(model: Any, now: datetime, hold_seconds: float) -> dict[str, Any]:
    return {"queued_until": now + timedelta(seconds=hold_seconds), "queued_count": model.queued_count + 1}


Queued = tuple[uuid.UUID, str | None]
"""A delivery marked queued: its id, and the request id its message carries."""


async def claim_due_for_queue(
    session: AsyncSession, model: Any, *, now: datetime, hold_seconds: float, limit: int = 500
) -> list[Queued]:
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
        .values(**_mark(model, now, hold_seconds))
        .returning(model.id, model.request_id)
    )
    return [(row[0], row[1]) for row in claimed]


async def mark_queued(
    session: AsyncSession, model: Any, delivery_ids: list[uuid.UUID], *, now: datetime, hold_seconds: float
) -> list[Queued]:
    """Mark the given pending rows as queued unless a message for them already is; returns
    the ones marked (new deliveries the relay hands out)."""
    marked = await session.execute(
        update(model)
        .where(model.id.in_(delivery_ids), model.status == DeliveryStatus.PENDING, _unqueued(model, now))
        .values(**_mark(model, now, hold_seconds))
        .returning(model.id, model.request_id)
    )
    return [(row[0], row[1]) for row in marked]


async def unmark_queued(session: AsyncSession, model: Any, delivery_ids: list[uuid.UUID]) -> None:
    """The broker refused these messages: the next sweep may send them again."""
    await session.execute(update(model).where(model.id.in_(delivery_ids)).values(queued_until=None))


async def backlog(conn: AsyncConnection, model: Any, *, now: datetime) -> tuple[int, datetime | None]:
    """How many pending rows are due, and since when the oldest has been."""
    row = (
        await conn.execute(
            select(func.count(), func.min(model.next_attempt_at)).where(
                model.status == DeliveryStatus.PENDING, model.next_attempt_at <= now
            )
        )
    ).one()
    return int(row[0]), row[1]


async def due_ids(
    conn: AsyncConnection | AsyncSession, model: Any, *, now: datetime, limit: int = 500
) -> list[uuid.UUID]:
    """Rows to hand to the workers: pending, due, and not leased (or their lease lapsed)."""
    query = select(model.id).where(
        model.status == DeliveryStatus.PENDING, model.next_attempt_at <= now, _free(model, now)
    )
    return list((await conn.scalars(query.order_by(model.next_attempt_at).limit(limit))).all())
