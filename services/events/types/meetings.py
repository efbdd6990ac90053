"""Meeting events: meetings scheduled, changed, cancelled, held, and their reminders."""

import uuid
from datetime import datetime
from typing import Any

from services.events.types.common import Changes, EventType, Mail, Recipients, Record, Stamps, payload

# Meeting changes that are news to the invitees: they get an updated invitation.
NEWS = frozenset({"starts_at", "ends_at", "time_zone", "location", "online_url", "invitees", "agenda"})


class MeetingRecord(Stamps):
    id: uuid.UUID
    network_id: uuid.UUID
    working_group_id: uuid.UUID | None
    kind: str
    title: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    location: str | None
    online_url: str | None
    agenda: list[dict[str, Any]]
    invitees: list[dict[str, Any]]
    status: str
    sequence: int
    reminder_minutes: list[int]
    reminders: list[dict[str, Any]]
    cancel_reason: str | None
    minutes: str | None
    outcomes: list[str]
    is_demo: bool


MeetingPayload = payload("MeetingPayload", "The meeting.", meeting=(MeetingRecord, ...))
MeetingChangedPayload = payload(
    "MeetingChangedPayload",
    "The meeting after the change, and the changed fields.",
    meeting=(MeetingRecord, ...),
    changes=(Changes, ...),
)


class InviteeReply(Record):
    id: uuid.UUID
    entity_id: uuid.UUID | None
    name: str | None
    answer: str
    answered_at: datetime
    via: str  # "link": the invitation e-mail's link; "itip": an iTIP REPLY posted by a system


InviteeRepliedPayload = payload(
    "MeetingInviteeRepliedPayload",
    "The meeting after the answer, the invitee who answered and how, and the answer before and after.",
    meeting=(MeetingRecord, ...),
    invitee=(InviteeReply, ...),
    changes=(Changes, ...),
)
ReminderPayload = payload(
    "MeetingReminderPayload",
    "The meeting, and how long before its start the reminder is.",
    meeting=(MeetingRecord, ...),
    minutes_before=(int, ...),
)

TYPES = (
    EventType(
        "meeting.created",
        "A meeting was scheduled; its invitees are sent an invitation.",
        MeetingPayload,
        "Meeting scheduled",
        mail=Mail(
            "invitation",
            Recipients.INVITEES,
            subject="Invitation: {meeting[title]}",
            summary="You are invited to the meeting below.\n\n",
        ),
    ),
    EventType(
        "meeting.updated",
        "A scheduled meeting changed; when its time, place, invitees or agenda did, invitees get an update.",
        MeetingChangedPayload,
        "Meeting updated",
        mail=Mail(
            "invitation",
            Recipients.INVITEES,
            subject="Updated invitation: {meeting[title]}",
            summary="The meeting below changed; this invitation replaces the one you had.\n\n",
            only_if_changed=NEWS,
        ),
    ),
    EventType(
        "meeting.cancelled",
        "A meeting was cancelled.",
        MeetingChangedPayload,
        "Meeting cancelled",
        mail=Mail(
            "cancellation",
            Recipients.INVITEES,
            subject="Cancelled: {meeting[title]}",
            summary="This meeting is cancelled.\n\n",
        ),
    ),
    EventType(
        "meeting.held",
        "A meeting was held: its attendance, minutes and outcomes are recorded.",
        MeetingChangedPayload,
        "Meeting held",
    ),
    EventType(
        "meeting.invitee_replied",
        "An invitee answered its invitation (accepted, tentative or declined), through its e-mail's link or an iTIP REPLY.",
        InviteeRepliedPayload,
        "Invitee answered",
    ),
    EventType(
        "meeting.reminder_due",
        "A reminder of a scheduled meeting fell due.",
        ReminderPayload,
        "Meeting reminder sent",
        mail=Mail(
            "reminder",
            Recipients.INVITEES,
            subject="Reminder: {meeting[title]}",
            summary="A reminder: the meeting below is coming up.\n\n",
        ),
    ),
)
