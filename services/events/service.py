"""Appending events, and with each its audit entry. Callers pass the session that holds
the change itself, so the change, its event and its audit entry commit together."""

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services import context
from services.audit.models import AuditEntry
from services.events.models import TRANSACTION_ORDER, Event
from services.principals import Principal

PENDING_EVENTS_FLAG = "events_pending"


def record_event(
    session: AsyncSession,
    *,
    type: str,
    subject_type: str,
    subject_id: uuid.UUID,
    actor: Principal,
    payload: dict[str, Any],
    network_id: uuid.UUID | None = None,
    owner_entity_id: uuid.UUID | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> Event:
    """Add the event and its audit entry to the session's transaction, and flag the session
    so that, after commit, the caller nudges the relay.

    ``owner_entity_id`` is the entity whose focal point may read the audit entry;
    ``before``/``after`` are the changed fields (or the whole record on creation/deletion)."""
    event = Event(
        type=type,
        subject_type=subject_type,
        subject_id=subject_id,
        network_id=network_id,
        actor=actor.id,
        payload=payload,
    )
    session.add(event)
    session.add(
        AuditEntry(
            principal_id=actor.id,
            principal_role=actor.role.value,
            action=type,
            resource_type=subject_type,
            resource_id=subject_id,
            owner_entity_id=owner_entity_id,
            network_id=network_id,
            before=before,
            after=after,
            request_id=context.request_id.get(),
        )
    )
    session.info[PENDING_EVENTS_FLAG] = True
    return event


async def continue_feed_after_restore(session: AsyncSession) -> int | None:
    """After a dump is restored into another server, its transaction ids may run behind the
    restored events': raise the database's offset so that new events sort after them and the
    feed's readers, cursors included, go on where they were. Returns the new offset, or
    ``None`` when the ids are in order already (every start but the first after a restore).
    New connections use it; run before the service starts (``registry migrate`` does)."""
    row = (
        await session.execute(
            text(f"SELECT (SELECT max(transaction_id) FROM events) AS newest, {TRANSACTION_ORDER} AS now")  # noqa: S608 - a constant
        )
    ).one()
    if row.newest is None or row.newest < row.now:
        return None
    offset = int(row.newest) + 1  # any transaction id (at least 1) plus this is past the newest
    statement = await session.scalar(
        text("SELECT format('ALTER DATABASE %I SET registry.xid_offset = %L', current_database(), CAST(:o AS text))"),
        {"o": str(offset)},
    )
    await session.execute(text(statement))
    await session.execute(text("SELECT set_config('registry.xid_offset', CAST(:o AS text), false)"), {"o": str(offset)})
    return offset
