"""People events: focal points as persons, and their focal-point posts. A person's name and
e-mail address are personal data: their events are seen only by admins and the focal points
of the person's entity, in the change feed and through webhooks alike. A post's events name
the person by id only, so they are public."""

import uuid
from datetime import date, datetime

from services.events.types.common import Changes, EventType, OwnedBy, Stamps, Visibility, payload


class PersonRecord(Stamps):
    """A person, as GET /v1/people/{person_id} shows it to the secretariat."""

    id: uuid.UUID
    entity_id: uuid.UUID
    name: str | None
    title: str | None
    email: str | None
    preferred_language: str
    erased_at: datetime | None
    is_demo: bool


class FocalPointRecord(Stamps):
    """A focal-point post, as GET /v1/people/{person_id}/posts shows it: for exactly one of an
    entity, a network and a working group."""

    id: uuid.UUID
    person_id: uuid.UUID
    entity_id: uuid.UUID | None
    network_id: uuid.UUID | None
    working_group_id: uuid.UUID | None
    start_date: date
    end_date: date | None
    end_reason: str | None
    is_demo: bool


PersonPayload = payload("PersonPayload", "The person.", person=(PersonRecord, ...))
PersonUpdatedPayload = payload(
    "PersonUpdatedPayload",
    "The person after the change, and the changed fields.",
    person=(PersonRecord, ...),
    changes=(Changes, ...),
)
FocalPointPayload = payload(
    "FocalPointPayload", "The focal-point post, as it is after the change.", focal_point=(FocalPointRecord, ...)
)

_OWNER = OwnedBy("person", "entity_id")

TYPES = (
    EventType(
        "person.created",
        "A person (a focal point) was recorded.",
        PersonPayload,
        "Person recorded",
        Visibility.ADMIN_AND_OWNER,
        _OWNER,
    ),
    EventType(
        "person.updated",
        "A person's name, title, e-mail or language changed.",
        PersonUpdatedPayload,
        "Person updated",
        Visibility.ADMIN_AND_OWNER,
        _OWNER,
    ),
    EventType(
        "person.erased",
        "A person's name and e-mail address were erased at their request; earlier events no longer show them.",
        PersonPayload,
        "Person erased",
        Visibility.ADMIN_AND_OWNER,
        _OWNER,
    ),
    EventType(
        "focal_point.appointed",
        "A person was appointed focal point for an entity, a network or a working group, from a date.",
        FocalPointPayload,
        "Focal point appointed",
    ),
    EventType(
        "focal_point.ended",
        "A focal-point post ended (its last day is end_date).",
        FocalPointPayload,
        "Focal-point post ended",
    ),
)
