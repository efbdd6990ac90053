"""E-mail deliveries for an operator: the failed ones, and sending them again."""

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import clock
from services.events.models import Event
from services.leases import DeliveryStatus
from services.mail.models import EmailDelivery

EMAIL_COLUMNS = (
    EmailDelivery.id,
    EmailDelivery.event_id,
    Event.type.label("event_type"),
    EmailDelivery.recipient,
    EmailDelivery.kind,
    EmailDelivery.status,
    EmailDelivery.attempts,
    EmailDelivery.next_attempt_at,
    EmailDelivery.last_error,
    EmailDelivery.sent_at,
    EmailDelivery.created_at,
    EmailDelivery.request_id,
)


async def email_rows_where(conn: AsyncConnection, *conditions: Any, limit: int = 1000) -> list[dict[str, Any]]:
    """E-mail deliveries that meet ``conditions``, oldest first."""
    query = (
        select(*EMAIL_COLUMNS)
        .join(Event, Event.id == EmailDelivery.event_id)
        .where(*conditions)
        .order_by(EmailDelivery.id)
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def replay_emails(session: AsyncSession, *, delivery_ids: list[uuid.UUID] | None = None) -> list[uuid.UUID]:
    """Make failed e-mail deliveries due again now (the given ones, or every failed one);
    the scheduler's next sweep hands them to the workers. Returns the ones made due."""
    query = update(EmailDelivery).where(EmailDelivery.status == DeliveryStatus.FAILED)
    if delivery_ids is not None:
        query = query.where(EmailDelivery.id.in_(delivery_ids))
    replayed = await session.scalars(
        query.values(status=DeliveryStatus.PENDING, next_attempt_at=clock.now(), lease_until=None).returning(
            EmailDelivery.id
        )
    )
    return list(replayed.all())
