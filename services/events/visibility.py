"""Who may see an event. Most events are the registry's public record; events about API keys
and webhook endpoints carry secrets' metadata, URLs and filters, so only admins and the
record's owner (the principal it belongs to, or its entity) see them — in the change feed
and in webhooks alike. One definition, used by both."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, true

from services.events.models import Event
from services.principals import Principal

PRIVATE_SUBJECTS = ("api_key", "webhook_endpoint")


@dataclass(frozen=True)
class Owner:
    """Who owns a private event's subject: a principal id and/or an entity."""

    principal_id: str | None
    entity_id: uuid.UUID | None


def owner_of(subject_type: str, subject_id: uuid.UUID, payload: dict[str, Any]) -> Owner | None:
    """The owner of a private event's subject; ``None`` for a public event."""
    if subject_type == "webhook_endpoint":
        endpoint = payload.get("webhook_endpoint") or {}
        entity = endpoint.get("owner_entity_id")
        return Owner(endpoint.get("owner_principal_id"), uuid.UUID(str(entity)) if entity else None)
    if subject_type == "api_key":
        entity = (payload.get("api_key") or {}).get("entity_id")
        return Owner(f"key:{subject_id}", uuid.UUID(str(entity)) if entity else None)
    return None


def feed_condition(actor: Principal) -> Any:
    """The events ``actor`` may read from the change feed, as a condition on ``events``."""
    if actor.is_admin:
        return true()
    endpoint = Event.payload["webhook_endpoint"]
    is_endpoint, is_key = Event.subject_type == "webhook_endpoint", Event.subject_type == "api_key"
    owned = [and_(is_endpoint, endpoint["owner_principal_id"].astext == actor.id)]
    if actor.api_key_id is not None:
        owned.append(and_(is_key, Event.subject_id == actor.api_key_id))
    if actor.entity_id is not None:
        entity = str(actor.entity_id)
        owned.append(and_(is_endpoint, endpoint["owner_entity_id"].astext == entity))
        owned.append(and_(is_key, Event.payload["api_key"]["entity_id"].astext == entity))
    return or_(Event.subject_type.not_in(PRIVATE_SUBJECTS), *owned)
