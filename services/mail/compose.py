"""Who gets an e-mail for an event, and what it says."""

import uuid
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.entities.models import Entity
from services.events.models import Event
from services.meetings.calendar import calendar_for
from services.meetings.models import MeetingInvitee
from services.mous.models import MouParty
from services.networks.models import Network
from services.settings import get_settings

# Meeting changes that are news to the invitees: they get an updated invitation.
NEWS = frozenset({"starts_at", "ends_at", "time_zone", "location", "online_url", "invitees", "agenda"})
KINDS = {
    "meeting.created": "invitation",
    "meeting.updated": "invitation",
    "meeting.cancelled": "cancellation",
    "meeting.reminder_due": "reminder",
    "network.meeting_overdue": "alert",
    "network.meeting_at_risk": "alert",
    "webhook_endpoint.disabled": "alert",
    "mou.review_due": "reminder",
    "review.scheduled": "notice",
    "review.reminder_due": "reminder",
    "review.overdue": "alert",
    "recommendation.reminder_due": "reminder",
    "recommendation.overdue": "alert",
}


async def _invitee_addresses(session: AsyncSession, meeting_id: uuid.UUID) -> list[str]:
    rows = await session.execute(
        select(MeetingInvitee.email, Entity.contact_email)
        .outerjoin(Entity, Entity.id == MeetingInvitee.entity_id)
        .where(MeetingInvitee.meeting_id == meeting_id)
    )
    return sorted({str(email or contact).lower() for email, contact in rows if email or contact})


async def _entity_address(session: AsyncSession, entity_id: Any) -> list[str]:
    if entity_id is None:
        return []
    email = await session.scalar(select(Entity.contact_email).where(Entity.id == uuid.UUID(str(entity_id))))
    return [email.lower()] if email else []


async def recipients_for(session: AsyncSession, event: Event) -> list[tuple[str, str]]:
    """(address, kind) for each person this event is news to."""
    kind = KINDS.get(event.type)
    if kind is None:
        return []
    if event.type == "meeting.updated" and not NEWS & set(event.payload.get("changes", {})):
        return []
    if event.type.startswith("meeting."):
        addresses = await _invitee_addresses(session, event.subject_id)
    elif event.type == "mou.review_due":
        rows = await session.execute(
            select(Entity.contact_email)
            .join(MouParty, MouParty.entity_id == Entity.id)
            .where(MouParty.mou_id == event.subject_id, Entity.contact_email.is_not(None))
        )
        addresses = sorted({str(email).lower() for (email,) in rows})
    elif event.type in ("network.meeting_overdue", "network.meeting_at_risk"):
        coordinator = await session.scalar(select(Network.coordinator_entity_id).where(Network.id == event.subject_id))
        addresses = await _entity_address(session, coordinator)
    elif event.type.startswith("review."):
        # The review's lead, and the network's coordinator (the secretariat) alongside.
        coordinator = await session.scalar(select(Network.coordinator_entity_id).where(Network.id == event.network_id))
        lead = event.payload["review"]["lead_entity"]["id"]
        addresses = sorted(set(await _entity_address(session, lead)) | set(await _entity_address(session, coordinator)))
    elif event.type.startswith("recommendation."):
        addresses = await _entity_address(session, event.payload["recommendation"]["owner_entity"]["id"])
    else:
        addresses = await _entity_address(session, event.payload.get("webhook_endpoint", {}).get("owner_entity_id"))
    return [(address, kind) for address in addresses]


def _meeting_text(meeting: dict[str, Any]) -> str:
    place = ", ".join(p for p in (meeting.get("location"), meeting.get("online_url")) if p)
    return f"{meeting['title']}\n{meeting['starts_at']} to {meeting['ends_at']} ({meeting['time_zone']})\n{place}\n"


def compose(event: Event, recipient: str, kind: str, *, record_base_url: str) -> EmailMessage:
    """The message for one recipient: for a meeting, with its .ics (REQUEST, or CANCEL)."""
    message = EmailMessage()
    message["From"] = get_settings().mail_from
    message["To"] = recipient
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="migration-network-registry")
    payload = event.payload
    if event.type.startswith("meeting."):
        meeting = payload["meeting"]
        subject = {
            "invitation": "Invitation" if event.type == "meeting.created" else "Updated invitation",
            "cancellation": "Cancelled",
            "reminder": "Reminder",
        }[kind]
        message["Subject"] = f"{subject}: {meeting['title']}"
        lead = "This meeting is cancelled.\n\n" if kind == "cancellation" else ""
        message.set_content(lead + _meeting_text(meeting) + f"\n{record_base_url}/v1/meetings/{meeting['id']}\n")
        method = "CANCEL" if kind == "cancellation" else "REQUEST"
        ics = calendar_for(
            [_as_row(meeting)],
            name=meeting["title"],
            record_url=lambda row: f"{record_base_url}/v1/meetings/{row['id']}",
            method=method,
        )
        message.add_attachment(
            ics, maintype="text", subtype="calendar", filename="meeting.ics", params={"method": method}
        )
    elif event.type == "mou.review_due":
        mou = payload["mou"]
        message["Subject"] = f"Review due {mou['review_due_date']}: {mou['title']}"
        message.set_content(
            f"The review of MoU {mou['reference_number']} ({mou['title']}) falls due on {mou['review_due_date']}.\n"
            f"Refresh it (POST /v1/mous/{mou['id']}/refresh) or record that it stands.\n{record_base_url}/v1/mous/{mou['id']}\n"
        )
    elif event.type in ("network.meeting_overdue", "network.meeting_at_risk"):
        due = payload["compliance"]["due_by"]
        if event.type.endswith("overdue"):
            message["Subject"] = "The extended membership's annual meeting is overdue"
            message.set_content(f"The extended membership was due to meet, with other stakeholders, by {due}.\n")
        else:
            message["Subject"] = "The extended membership's annual meeting is not scheduled in time"
            message.set_content(
                f"The extended membership must meet, with other stakeholders, by {due}; no such meeting is scheduled by then.\n"
            )
    elif event.type.startswith("review."):
        _review_message(message, event.type, payload["review"], record_base_url)
    elif event.type.startswith("recommendation."):
        _recommendation_message(message, event.type, payload["recommendation"], record_base_url)
    else:
        message["Subject"] = "A webhook endpoint was disabled"
        message.set_content(
            f"Webhook endpoint {payload['webhook_endpoint']['url']} was disabled: {payload['reason']}.\n"
        )
    return message


def _review_message(message: EmailMessage, event_type: str, review: dict[str, Any], base_url: str) -> None:
    name = f"Effectiveness review {review['number']} (period {review['period_start']} to {review['due_date']})"
    link = f"{base_url}/v1/reviews/{review['id']}"
    if event_type == "review.scheduled":
        message["Subject"] = f"Opened: {name}"
        message.set_content(
            f"{name} is open and falls due on {review['due_date']}. Start it when work begins.\n{link}\n"
        )
    elif event_type == "review.reminder_due":
        message["Subject"] = f"Due {review['due_date']}: {name}"
        message.set_content(f"{name} falls due on {review['due_date']}; it is {review['status']}.\n{link}\n")
    else:
        message["Subject"] = f"Overdue: {name}"
        message.set_content(f"{name} was due on {review['due_date']} and is not completed.\n{link}\n")


def _recommendation_message(message: EmailMessage, event_type: str, item: dict[str, Any], base_url: str) -> None:
    link = f"{base_url}/v1/reviews/{item['review_id']}/recommendations/{item['id']}"
    overdue = event_type == "recommendation.overdue"
    message["Subject"] = f"Recommendation {'overdue' if overdue else 'due'} ({item['due_date']})"
    when = f"was due on {item['due_date']} and is not done" if overdue else f"falls due on {item['due_date']}"
    message.set_content(
        f"This recommendation, owned by {item['owner_entity']['acronym']}, {when}:\n\n"
        f"{item['text']}\n\nIts status is {item['status']}. Record progress: POST {link}/status\n"
    )


def _as_row(meeting: dict[str, Any]) -> dict[str, Any]:
    """A meeting as stored in an event payload, with its times parsed back."""
    row = dict(meeting)
    for key in ("starts_at", "ends_at", "updated_at"):
        row[key] = datetime.fromisoformat(str(row[key]))
    return row
