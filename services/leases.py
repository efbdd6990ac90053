"""Delivery rows (webhooks, e-mail) are sent under a lease: a worker claims one for a while,
sends it outside any transaction, then records the outcome. A worker that dies lets go when
the lease lapses, and the scheduler hands the row out again.

Both delivery models have ``id``, ``status``, ``attempts``, ``next_attempt_at`` and ``lease_until``."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import clock
from services.webhooks.models import DeliveryStatus


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
        .values(lease_until=now + timedelta(seconds=seconds))
        .returning(model.attempts)
    )
    return attempts


async def due_ids(
    conn: AsyncConnection | AsyncSession, model: Any, *, now: datetime, limit: int = 500
) -> list[uuid.UUID]:
    """Rows to hand to the workers: pending, due, and not leased (or their lease lapsed)."""
    query = select(model.id).where(
        model.status == DeliveryStatus.PENDING, model.next_attempt_at <= now, _free(model, now)
    )
    return list((await conn.scalars(query.order_by(model.next_attempt_at).limit(limit))).all())
