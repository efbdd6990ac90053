"""Who may see an event. Most events are the registry's public record; the catalogue marks the
others (API keys', webhook endpoints' and calendar subscriptions' events carry secrets'
metadata, URLs and filters) as seen only by admins and the record's owner, and says where
their payload names the owner — in the change feed and in webhooks alike. One definition,
used by both."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, true

from services.events.catalogue import OwnedBy, private_types
from services.events.models import Event
from services.principals import Principal

# Where each private subject's events name its owner, by subject type (the payload member
# holding the record is named after it).
OWNERS: dict[str, OwnedBy] = {owned.record: owned for owned in private_types()}
PRIVATE_SUBJECTS = tuple(OWNERS)


@dataclass(frozen=True)
class Owner:
    """Who owns a private event's subject: a principal id and/or an entity."""

    principal_id: str | None
    entity_id: uuid.UUID | None


def owner_of(subject_type: str, subject_id: uuid.UUID, payload: dict[str, Any]) -> Owner | None:
    """The owner of a private event's subject; ``None`` for a public event."""
    owned = OWNERS.get(subject_type)
    if owned is None:
        return None
    record = payload.get(owned.record) or {}
    entity = record.get(owned.entity_field)
    # An API key owns its own events (its principal is `key:<id>`); other records name theirs.
    principal = record.get(owned.principal_field) if owned.principal_field else f"key:{subject_id}"
    return Owner(principal, uuid.UUID(str(entity)) if entity else None)


def feed_condition(actor: Principal) -> Any:
    """The events ``actor`` may read from the change feed, as a condition on ``events``."""
    if actor.is_admin:
        return true()
    owned: list[Any] = []
    for kind, where in OWNERS.items():
        is_kind = Event.subject_type == kind
        if where.principal_field is not None:
            owned.append(and_(is_kind, Event.payload[kind][where.principal_field].astext == actor.id))
        elif actor.api_key_id is not None:
            owned.append(and_(is_kind, Event.subject_id == actor.api_key_id))
        if actor.entity_id is not None:
            owned.append(and_(is_kind, Event.payload[kind][where.entity_field].astext == str(actor.entity_id)))
    return or_(Event.subject_type.not_in(PRIVATE_SUBJECTS), *owned)
