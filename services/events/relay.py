"""The relay's database half: claim pending events, fan them out to webhook deliveries, and
mark them published, all in one transaction."""

import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import clock
from services.events.models import Event
from services.mail.sender import fan_out as fan_out_emails
from services.webhooks.delivery import fan_out as fan_out_webhooks

BATCH_SIZE = 500


@dataclass(frozen=True)
class Published:
    events: int
    webhook_deliveries: list[uuid.UUID]
    email_deliveries: list[uuid.UUID]


async def publish_batch(session: AsyncSession, *, limit: int = BATCH_SIZE) -> Published:
    """Claim up to ``limit`` unpublished events in log order (skipping rows another relay
    holds), create their webhook and e-mail deliveries and mark them published. Returns
    what to send once the transaction has committed."""
    events = list(
        (
            await session.scalars(
                select(Event)
                .where(Event.published_at.is_(None))
                .order_by(Event.position)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
    )
    if not events:
        return Published(0, [], [])
    webhooks = await fan_out_webhooks(session, events)
    emails = await fan_out_emails(session, events)
    await session.execute(
        update(Event).where(Event.position.in_([e.position for e in events])).values(published_at=clock.now())
    )
    return Published(len(events), webhooks, emails)


async def has_pending_events(conn: AsyncConnection | AsyncSession) -> bool:
    """Whether any event waits for the relay."""
    return (await conn.scalar(select(Event.position).where(Event.published_at.is_(None)).limit(1))) is not None
