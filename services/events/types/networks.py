"""Network events: the networks, and the alerts about their annual meeting."""

import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel

from services.events.types.common import Changes, EventType, Mail, Recipients, RecordRef, Stamps, payload


class NetworkRecord(Stamps):
    id: uuid.UUID
    name: str
    short_name: str | None
    scope: str
    parent_network_id: uuid.UUID | None
    region: str | None
    country_code: str | None
    established_on: date | None
    description: str | None
    coordinator: RecordRef | None
    coordinator_entity_id: uuid.UUID | None
    secretariat: RecordRef | None
    leadership: list[dict[str, Any]]
    is_demo: bool


class NetworkPostRecord(Stamps):
    """A coordinator or secretariat post, as GET /v1/networks/{network_id}/posts shows it."""

    id: uuid.UUID
    network_id: uuid.UUID
    role: str
    entity: RecordRef
    start_date: date
    end_date: date | None
    end_reason: str | None
    is_demo: bool


class MeetingCompliance(BaseModel):
    """Whether the extended membership meets in time (as GET /v1/networks/{id}/meeting-compliance says)."""

    network_id: uuid.UUID
    last_met_on: date | None
    last_meeting_id: uuid.UUID | None
    due_by: date
    next_scheduled_on: date | None
    next_meeting_id: uuid.UUID | None
    next_within_12_months: bool
    state: str
    overdue: bool
    at_risk: bool


NetworkPayload = payload("NetworkPayload", "The network.", network=(NetworkRecord, ...))
NetworkUpdatedPayload = payload(
    "NetworkUpdatedPayload",
    "The network after the change, and the changed fields.",
    network=(NetworkRecord, ...),
    changes=(Changes, ...),
)
NetworkPostPayload = payload(
    "NetworkPostPayload",
    "The network and its post, as it is after the change.",
    network_id=(uuid.UUID, ...),
    post=(NetworkPostRecord, ...),
)
CompliancePayload = payload(
    "CompliancePayload", "The network's meeting compliance.", compliance=(MeetingCompliance, ...)
)

TYPES = (
    EventType("network.created", "A network was recorded.", NetworkPayload, "Network recorded"),
    EventType(
        "network.updated",
        "A network's details changed (or it was handed over).",
        NetworkUpdatedPayload,
        "Network updated",
    ),
    EventType(
        "network.post_appointed",
        "An entity was appointed to one of a network's coordinator or secretariat posts, from a date.",
        NetworkPostPayload,
        "Network coordinator or secretariat appointed",
    ),
    EventType(
        "network.post_ended",
        "One of a network's coordinator or secretariat posts ended (its last day is end_date).",
        NetworkPostPayload,
        "Network coordinator or secretariat post ended",
        mail=Mail(
            "notice",
            Recipients.COORDINATOR,
            subject="{post[entity][acronym]}'s {post[role]} post of the network ends on {post[end_date]}",
            summary="{post[entity][name]}'s {post[role]} post of the network ends on {post[end_date]} "
            "({post[end_reason]}).\n",
        ),
    ),
    EventType(
        "network.meeting_at_risk",
        "The extended membership's annual meeting falls due within 90 days and none is scheduled in time (once per due date).",
        CompliancePayload,
        "Annual meeting at risk",
        mail=Mail(
            "alert",
            Recipients.COORDINATOR,
            subject="The extended membership's annual meeting is not scheduled in time",
            summary="The extended membership must meet, with other stakeholders, by {compliance[due_by]}; "
            "no such meeting is scheduled by then.\n",
        ),
    ),
    EventType(
        "network.meeting_overdue",
        "The extended membership's annual meeting is overdue (once per due date).",
        CompliancePayload,
        "Annual meeting overdue",
        mail=Mail(
            "alert",
            Recipients.COORDINATOR,
            subject="The extended membership's annual meeting is overdue",
            summary="The extended membership was due to meet, with other stakeholders, by {compliance[due_by]}.\n",
        ),
    ),
)
