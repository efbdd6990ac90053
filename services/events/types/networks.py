"""Network events: the networks, and the alerts about their annual meeting."""

import uuid
from datetime import date

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
    secretariat: RecordRef | None
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
CompliancePayload = payload(
    "CompliancePayload", "The network's meeting compliance.", compliance=(MeetingCompliance, ...)
)

TYPES = (
    EventType("network.created", "A network was recorded.", NetworkPayload, "Network recorded"),
    EventType(
        "network.updated", "A network's details or coordinator changed.", NetworkUpdatedPayload, "Network updated"
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
