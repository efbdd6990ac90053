"""Who gets an e-mail for an event, and what it says."""

import uuid
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import clock
from services.entities.models import Entity
from services.events.models import Event
from services.meetings.calendar import Attendee, Organizer, calendar_for
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


NETWORK_ALERTS = frozenset({"network.meeting_overdue", "network.meeting_at_risk"})


def _kind(event: Event) -> str | None:
    """The kind of e-mail this event sends, or None when it is news to no one."""
    kind = KINDS.get(event.type)
    if kind is None:
        return None
    if event.type == "meeting.updated" and not NEWS & set(event.payload.get("changes", {})):
        return None
    if kind == "invitation" and _parse_time(event.payload["meeting"]["ends_at"]) <= clock.now():
        return None  # an invitation to a meeting that is over helps nobody (demo data's past meetings)
    return kind


def _addressee(event: Event) -> uuid.UUID | None:
    """The entity a review's, a recommendation's or an endpoint's event is addressed to."""
    if event.type.startswith("review."):
        named = event.payload["review"]["lead_entity"]["id"]
    elif event.type.startswith("recommendation."):
        named = event.payload["recommendation"]["owner_entity"]["id"]
    else:
        named = event.payload.get("webhook_endpoint", {}).get("owner_entity_id")
    return None if named is None else uuid.UUID(str(named))


@dataclass(frozen=True)
class AddressBook:
    """The addresses a batch of events may go to, each read once for the batch
    (``address_book_for``): invitees by meeting, parties by MoU, the coordinator's by
    network, and entities' contact addresses by entity."""

    invitees: dict[uuid.UUID, list[str]]
    parties: dict[uuid.UUID, list[str]]
    coordinators: dict[uuid.UUID, list[str]]
    entities: dict[uuid.UUID, list[str]]


def _by_key(rows: Iterable[Any]) -> dict[uuid.UUID, list[str]]:
    """(key, address) rows as each key's addresses, lower-cased, once each, sorted."""
    addresses: dict[uuid.UUID, set[str]] = {}
    for key, address in rows:
        if address:
            addresses.setdefault(key, set()).add(str(address).lower())
    return {key: sorted(each) for key, each in addresses.items()}


async def address_book_for(session: AsyncSession, events: Iterable[Event]) -> AddressBook:
    """Every address ``events`` may go to, in at most one statement per kind of addressee,
    whatever the number of events."""
    meetings: set[uuid.UUID] = set()
    mous: set[uuid.UUID] = set()
    networks: set[uuid.UUID] = set()
    entities: set[uuid.UUID] = set()
    for event in events:
        if _kind(event) is None:
            continue
        if event.type.startswith("meeting."):
            meetings.add(event.subject_id)
        elif event.type == "mou.review_due":
            mous.add(event.subject_id)
        elif event.type in NETWORK_ALERTS:
            networks.add(event.subject_id)
        else:
            if event.type.startswith("review.") and event.network_id is not None:
                networks.add(event.network_id)  # the coordinator (the secretariat) alongside the lead
            if (entity_id := _addressee(event)) is not None:
                entities.add(entity_id)
    book = AddressBook({}, {}, {}, {})
    if meetings:
        book.invitees.update(
            _by_key(
                await session.execute(
                    select(MeetingInvitee.meeting_id, func.coalesce(MeetingInvitee.email, Entity.contact_email))
                    .outerjoin(Entity, Entity.id == MeetingInvitee.entity_id)
                    .where(MeetingInvitee.meeting_id.in_(meetings))
                )
            )
        )
    if mous:
        book.parties.update(
            _by_key(
                await session.execute(
                    select(MouParty.mou_id, Entity.contact_email)
                    .join(Entity, Entity.id == MouParty.entity_id)
                    .where(MouParty.mou_id.in_(mous))
                )
            )
        )
    if networks:
        book.coordinators.update(
            _by_key(
                await session.execute(
                    select(Network.id, Entity.contact_email)
                    .join(Entity, Entity.id == Network.coordinator_entity_id)
                    .where(Network.id.in_(networks))
                )
            )
        )
    if entities:
        book.entities.update(
            _by_key(await session.execute(select(Entity.id, Entity.contact_email).where(Entity.id.in_(entities))))
        )
    return book


def _looked_up(addresses: dict[uuid.UUID, list[str]], key: uuid.UUID | None) -> list[str]:
    return addresses.get(key, []) if key is not None else []


async def recipients_for(
    session: AsyncSession, event: Event, *, address_book: AddressBook | None = None
) -> list[tuple[str, str]]:
    """(address, kind) for each person this event is news to. ``address_book``: that of
    the batch the event is relayed in (``address_book_for``); without it, this event's
    addresses are read here."""
    kind = _kind(event)
    if kind is None:
        return []
    book = address_book if address_book is not None else await address_book_for(session, [event])
    if event.type.startswith("meeting."):
        addresses = book.invitees.get(event.subject_id, [])
    elif event.type == "mou.review_due":
        addresses = book.parties.get(event.subject_id, [])
    elif event.type in NETWORK_ALERTS:
        addresses = book.coordinators.get(event.subject_id, [])
    elif event.type.startswith("review."):
        lead = _looked_up(book.entities, _addressee(event))
        addresses = sorted(set(lead) | set(_looked_up(book.coordinators, event.network_id)))
    else:
        addresses = _looked_up(book.entities, _addressee(event))
    return [(address, kind) for address in addresses]


EN_DASH = "\u2013"


def _parse_time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _day(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def meeting_times(meeting: dict[str, Any]) -> str:
    """When, for a person: in the meeting's own time zone, named, and in UTC —
    "Tuesday 12 January 2027, 14:00-17:00 Europe/Zurich (13:00-16:00 UTC)", with en dashes."""
    zone_name = str(meeting["time_zone"])
    zone = zoneinfo.ZoneInfo(zone_name)
    starts, ends = _parse_time(meeting["starts_at"]), _parse_time(meeting["ends_at"])

    def span(start: datetime, end: datetime, label: str, *, with_day: bool) -> str:
        first = f"{_day(start)}, {start:%H:%M}" if with_day else f"{start:%H:%M}"
        if start.date() == end.date():
            return f"{first}{EN_DASH}{end:%H:%M} {label}"
        return f"{first} {EN_DASH} {_day(end)}, {end:%H:%M} {label}"

    local = span(starts.astimezone(zone), ends.astimezone(zone), zone_name, with_day=True)
    if zone_name in ("UTC", "Etc/UTC"):
        return local
    utc_start, utc_end = starts.astimezone(UTC), ends.astimezone(UTC)
    other_day = utc_start.date() != starts.astimezone(zone).date() or utc_start.date() != utc_end.date()
    return f"{local} ({span(utc_start, utc_end, 'UTC', with_day=other_day)})"


def _meeting_text(meeting: dict[str, Any]) -> str:
    place = ", ".join(p for p in (meeting.get("location"), meeting.get("online_url")) if p)
    lines = [str(meeting["title"]), meeting_times(meeting)]
    if place:
        lines.append(place)
    agenda = [f"  {i}. {item['title']}" for i, item in enumerate(meeting.get("agenda") or [], start=1)]
    if agenda:
        lines += ["", "Agenda:", *agenda]
    return "\n".join(lines) + "\n"


async def invitation_parties(
    session: AsyncSession, meeting: dict[str, Any], recipient: str
) -> tuple[Organizer, list[Attendee]]:
    """The organizer (the network's secretariat) and one attendee per invitee, as the
    invitation to ``recipient`` shows them: an external stakeholder's address appears only
    in the message to that stakeholder (personal data), others by ``urn:uuid``."""
    coordinator = (
        await session.execute(
            select(Entity.name, Entity.contact_email)
            .join(Network, Network.coordinator_entity_id == Entity.id)
            .where(Network.id == uuid.UUID(str(meeting["network_id"])))
        )
    ).first()
    registry_name, registry_address = parseaddr(get_settings().mail_from)
    organizer = Organizer(
        name=coordinator.name if coordinator else registry_name,
        email=(coordinator.contact_email if coordinator and coordinator.contact_email else registry_address),
    )
    entity_ids = [uuid.UUID(str(i["entity"]["id"])) for i in meeting["invitees"] if i.get("entity")]
    rows = await session.execute(select(Entity.id, Entity.contact_email).where(Entity.id.in_(entity_ids)))
    contacts = {row.id: row.contact_email for row in rows}
    attendees = []
    for invitee in meeting["invitees"]:
        entity = invitee.get("entity")
        if entity:
            contact = contacts.get(uuid.UUID(str(entity["id"])))
            address = f"mailto:{contact}" if contact else f"urn:uuid:{entity['id']}"
            attendees.append(Attendee(name=str(entity["name"]), address=address, is_group=True))
        else:
            mine = str(invitee.get("email") or "").lower() == recipient.lower()
            address = f"mailto:{invitee['email']}" if mine else f"urn:uuid:{invitee['id']}"
            attendees.append(Attendee(name=str(invitee["name"]), address=address, is_group=False))
    return organizer, attendees


def compose(
    event: Event,
    recipient: str,
    kind: str,
    *,
    record_base_url: str,
    parties: tuple[Organizer, list[Attendee]] | None = None,
) -> EmailMessage:
    """The message for one recipient: for a meeting, with its .ics (REQUEST, or CANCEL,
    naming the ``parties`` from ``invitation_parties``)."""
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
        organizer, attendees = parties or (None, [])
        ics = calendar_for(
            [_as_row(meeting)],
            name=meeting["title"],
            record_url=lambda row: f"{record_base_url}/v1/meetings/{row['id']}",
            method=method,
            organizer=organizer,
            attendees=attendees,
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
        row[key] = _parse_time(row[key])
    return row
