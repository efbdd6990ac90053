"""Entity events: the organisations the registry records."""

import uuid

from pydantic import BaseModel

from services.events.types.common import Changes, EventType, Stamps, payload


class IdentifierRecord(BaseModel):
    scheme: str
    value: str


class EntityRecord(Stamps):
    id: uuid.UUID
    acronym: str
    name: str
    kind: str
    un_system: bool
    parent_id: uuid.UUID | None
    office_level: str
    country_code: str | None
    website: str | None
    contact_email: str | None
    identifiers: list[IdentifierRecord]
    is_demo: bool


EntityPayload = payload("EntityPayload", "The entity.", entity=(EntityRecord, ...))
EntityUpdatedPayload = payload(
    "EntityUpdatedPayload",
    "The entity after the change, and the changed fields.",
    entity=(EntityRecord, ...),
    changes=(Changes, ...),
)

TYPES = (
    EventType("entity.created", "An entity was recorded.", EntityPayload, "Entity recorded"),
    EventType("entity.updated", "An entity's profile or identifiers changed.", EntityUpdatedPayload, "Entity updated"),
    EventType(
        "entity.deleted", "An entity that nothing referred to was deleted (as it was).", EntityPayload, "Entity deleted"
    ),
)
