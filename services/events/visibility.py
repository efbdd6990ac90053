"""Who may see an event. Most events are the registry's public record; events about API keys,
webhook endpoints and calendar subscriptions carry secrets' metadata, URLs and filters, so
only admins and the record's owner (the principal it belongs to, or its entity) see them —
in the change feed and in webhooks alike. One definition, used by both."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, true

from services.events.models import Event
from services.principals import Principal

# Records that name their owner (``owner_principal_id``, ``owner_entity_id``) in the payload.
OWNED_RECORDS = ("webhook_endpoint", "calendar_subscription")
PRIVATE_SUBJECTS = ("api_key", *OWNED_RECORDS)


@dataclass(frozen=True)
class Owner:
    """Who owns a private event's subject: a principal id and/or an entity."""

    principal_id: str | None
    entity_id: uuid.UUID | None


def owner_of(subject_type: str, subject_id: uuid.UUID, payload: dict[str, Any]) -> Owner | None:
    """The owner of a private event's subject; ``None`` for a public event."""
    if subject_type in OWNED_RECORDS:
        record = payload.get(subject_type) or {}
        entity = record.get("owner_entity_id")
        return Owner(record.get("owner_principal_id"), uuid.UUID(str(entity)) if entity else None)
    if subject_type == "api_key":
        entity = (payload.get("api_key") or {}).get("entity_id")
        return Owner(f"key:{subject_id}", uuid.UUID(str(entity)) if entity else None)
    return None


def feed_condition(actor: Principal) -> Any:
    """The events ``actor`` may read from the change feed, as a condition on ``events``."""
    if actor.is_admin:
        return true()
    is_key = Event.subject_type == "api_key"
    owned = [
        and_(Event.subject_type == kind, Event.payload[kind]["owner_principal_id"].astext == actor.id)
        for kind in OWNED_RECORDS
    ]
    if actor.api_key_id is not None:
        owned.append(and_(is_key, Event.subject_id == actor.api_key_id))
    if actor.entity_id is not None:
        entity = str(actor.entity_id)
        owned += [
            and_(Event.subject_type == kind, Event.payload[kind]["owner_entity_id"].astext == entity)
            for kind in OWNED_RECORDS
        ]
        owned.append(and_(is_key, Event.payload["api_key"]["entity_id"].astext == entity))
    return or_(Event.subject_type.not_in(PRIVATE_SUBJECTS), *owned)
