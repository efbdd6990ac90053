"""Working group events: the groups, and their chairs' and members' posts."""

import uuid
from datetime import date
from typing import Any

from services.events.types.common import Changes, EventType, Record, RecordRef, Stamps, payload


class WorkingGroupRecord(Stamps):
    id: uuid.UUID
    network_id: uuid.UUID
    name: str
    slug: str
    terms_of_reference: str | None
    gcm_objectives: list[int]
    guiding_principles: list[str]
    sdg_targets: list[str]
    status: str
    activated_on: date | None
    closed_on: date | None
    close_reason: str | None
    secretariat: RecordRef | None
    secretariat_is_coordinator: bool
    established_by_meeting_id: uuid.UUID | None
    current_chairs: list[dict[str, Any]]
    is_demo: bool


class PostRecord(Record):
    id: uuid.UUID
    working_group_id: uuid.UUID
    kind: str
    entity: RecordRef
    start_date: date
    end_date: date | None
    end_reason: str | None


GroupPayload = payload("WorkingGroupPayload", "The working group.", working_group=(WorkingGroupRecord, ...))
GroupChangedPayload = payload(
    "WorkingGroupChangedPayload",
    "The working group after the change, and the changed fields.",
    working_group=(WorkingGroupRecord, ...),
    changes=(Changes, ...),
)
PostPayload = payload(
    "WorkingGroupPostPayload",
    "The post (as it was, when withdrawn) and its working group's id.",
    working_group_id=(uuid.UUID, ...),
    post=(PostRecord, ...),
)

_POSTS = (
    ("chair_appointed", "A chair was appointed.", "Chair appointed"),
    ("chair_ended", "A chair's post ended.", "Chair's post ended"),
    ("chair_withdrawn", "A chair's post that had not started was withdrawn.", "Chair's post withdrawn"),
    ("member_added", "An entity took a seat in the group.", "Member added"),
    ("member_ended", "A member's seat ended.", "Member's seat ended"),
    ("member_withdrawn", "A member's seat that had not started was withdrawn.", "Member's seat withdrawn"),
)

TYPES = (
    EventType("working_group.created", "A working group was proposed.", GroupPayload, "Working group proposed"),
    EventType(
        "working_group.updated",
        "A working group's details or linked objectives changed.",
        GroupChangedPayload,
        "Working group updated",
    ),
    EventType(
        "working_group.activated", "A working group became active.", GroupChangedPayload, "Working group established"
    ),
    EventType(
        "working_group.closed", "A working group closed; its posts ended.", GroupChangedPayload, "Working group closed"
    ),
    *(EventType(f"working_group.{name}", description, PostPayload, label) for name, description, label in _POSTS),
)
