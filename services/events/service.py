"""Appending events. Callers pass the session that holds the change itself."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

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
) -> Event:
    """Add an event to the session's transaction and flag the session so that, after
    commit, the caller nudges the relay."""
    event = Event(
        type=type,
        subject_type=subject_type,
        subject_id=subject_id,
        network_id=network_id,
        actor=actor.id,
        payload=payload,
    )
    session.add(event)
    session.info[PENDING_EVENTS_FLAG] = True
    return event
