"""Appending events, and with each its audit entry. Callers pass the session that holds
the change itself, so the change, its event and its audit entry commit together."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services import context
from services.audit.models import AuditEntry
from services.events.models import Event
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
