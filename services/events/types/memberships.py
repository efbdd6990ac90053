"""Membership events: an entity's periods in a network's core or extended tier."""

import uuid
from datetime import date

from services.events.types.common import Changes, EventType, RecordRef, Stamps, payload


class MembershipRecord(Stamps):
    id: uuid.UUID
    network_id: uuid.UUID
    entity: RecordRef
    tier: str
    start_date: date
    end_date: date | None
    end_reason: str | None
    mandate_relevance: str | None
    capacity: str | None
    notes: str | None
    previous_membership_id: uuid.UUID | None
    is_demo: bool


MembershipPayload = payload("MembershipPayload", "The membership.", membership=(MembershipRecord, ...))
MembershipUpdatedPayload = payload(
    "MembershipUpdatedPayload",
    "The membership after the change, and the changed fields.",
    membership=(MembershipRecord, ...),
    changes=(Changes, ...),
)
TierChangedPayload = payload(
    "TierChangedPayload",
    "The new period (in the new tier), the period it continues (now ended), and both tiers.",
    membership=(MembershipRecord, ...),
    previous=(MembershipRecord, ...),
    from_tier=(str, ...),
    to_tier=(str, ...),
)

TYPES = (
    EventType("membership.created", "An entity joined a network's tier.", MembershipPayload, "Membership started"),
    EventType(
        "membership.updated",
        "A membership's statements, notes or start date changed.",
        MembershipUpdatedPayload,
        "Membership updated",
    ),
    EventType("membership.ended", "A membership period ended.", MembershipPayload, "Membership ended"),
    EventType(
        "membership.tier_changed",
        "A member moved to the other tier: its period ended and a new one began.",
        TierChangedPayload,
        "Membership tier changed",
    ),
)
