"""The relay's database half: claim pending events, fan them out to webhook and e-mail
deliveries, and mark them published, all in one transaction."""

import uuid
from dataclasses import dataclass

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import clock
from services.delivery.leases import Queued, sending_hold
from services.events.catalogue import is_mailed
from services.events.models import Event
from services.mail.fan_out import fan_out as fan_out_emails
from services.webhooks.delivery import fan_out as fan_out_webhooks

BATCH_SIZE = 500


@dataclass(frozen=True)
class Published:
    events: int
    webhook_deliveries: list[Queued]  # marked queued already: their messages are due
    email_deliveries: list[uuid.UUID]


async def publish_batch(session: AsyncSession, *, limit: int = BATCH_SIZE) -> Published:
    """Claim up to ``limit`` unpublished events in log order (skipping rows another relay
    holds), create their webhook and e-mail deliveries and mark them published. Returns
    what to send once the transaction has committed (the webhook deliveries marked queued
    already, for ``SENDING_HOLD_SECONDS``: lost by a crash before their messages are sent,
    they go out once the mark lapses)."""
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
    now = clock.now()
    webhooks = await fan_out_webhooks(session, events, queued_until=sending_hold(now))
    # Only types the catalogue mails can have recipients: the others need no lookup.
    emails = await fan_out_emails(session, [e for e in events if is_mailed(e.type)])
    await session.execute(
        update(Event).where(Event.position.in_([e.position for e in events])).values(published_at=now)
    )
    return Published(len(events), webhooks, emails)


async def has_pending_events(conn: AsyncConnection | AsyncSession) -> bool:
    """Whether any event waits for the relay."""
    return (await conn.scalar(select(Event.position).where(Event.published_at.is_(None)).limit(1))) is not None


_RELAY_MESSAGE_HELD = text("SELECT queued_until > now() FROM relay_queue WHERE id = 1")
_CLAIM_RELAY_MESSAGE = text(
    "INSERT INTO relay_queue (id, queued_until) VALUES (1, now() + make_interval(secs => :hold)) "
    "ON CONFLICT (id) DO UPDATE SET queued_until = EXCLUDED.queued_until "
    "WHERE relay_queue.queued_until IS NULL OR relay_queue.queued_until < now() RETURNING 1"
)


async def claim_relay_message(conn: AsyncConnection, *, hold_seconds: float) -> bool:
    """Whether to send a relay message now: yes unless one is queued already (marked, and the
    mark not lapsed). A lost message lets go when the mark lapses.

    Called after every write's commit: while the mark holds (nearly always, under load) a
    plain read answers, with no row lock and no transaction to commit; only a write that
    finds no mark claims it (atomically: of two such writes, one sends)."""
    if await conn.scalar(_RELAY_MESSAGE_HELD):
        return False
    claimed = await conn.scalar(_CLAIM_RELAY_MESSAGE, {"hold": hold_seconds})
    return claimed is not None


async def release_relay_message(conn: AsyncConnection) -> None:
    """The relay has started (or its message could not be sent): the next nudge sends one."""
    await conn.execute(text("UPDATE relay_queue SET queued_until = NULL WHERE id = 1"))
