"""Who gets an e-mail for an event, and what it says. Which types are mailed, of which kind,
to whom, and their subject and summary are the catalogue's (services.events.catalogue);
this module finds the addresses and builds the message."""

import uuid
import zoneinfo
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, assert_never

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import clock
from services.entities.models import Entity
from services.events.catalogue import entry
from services.events.models import Event
from services.events.types.common import Recipients
from services.meetings.calendar import Attendee, Organizer, calendar_for
from services.meetings.models import MeetingInvitee
from services.mous.models import MouParty
from services.networks.models import Network
from services.settings import get_settings


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
    """(address, kind) for each person this event is news to: the catalogue says whether its
    type is mailed, of what kind, and to whom."""
    found = entry(event.type)
    mail = found.mail if found is not None else None
    if mail is None:
        return []
    if mail.only_if_changed is not None and not mail.only_if_changed & set(event.payload.get("changes", {})):
        return []
    match mail.to:
        case Recipients.INVITEES:
            if mail.kind == "invitation" and _parse_time(event.payload["meeting"]["ends_at"]) <= clock.now():
                return []  # an invitation to a meeting that is over helps nobody (demo data's past meetings)
            addresses = await _invitee_addresses(session, event.subject_id)
        case Recipients.MOU_PARTIES:
            rows = await session.execute(
                select(Entity.contact_email)
                .join(MouParty, MouParty.entity_id == Entity.id)
                .where(MouParty.mou_id == event.subject_id, Entity.contact_email.is_not(None))
            )
            addresses = sorted({str(email).lower() for (email,) in rows})
        case Recipients.COORDINATOR:
            coordinator = await session.scalar(
                select(Network.coordinator_entity_id).where(Network.id == event.subject_id)
            )
            addresses = await _entity_address(session, coordinator)
        case Recipients.REVIEW_LEAD_AND_COORDINATOR:
            # The review's lead, and the network's coordinator (the secretariat) alongside.
            coordinator = await session.scalar(
                select(Network.coordinator_entity_id).where(Network.id == event.network_id)
            )
            lead = event.payload["review"]["lead_entity"]["id"]
            addresses = sorted(
                set(await _entity_address(session, lead)) | set(await _entity_address(session, coordinator))
            )
        case Recipients.RECOMMENDATION_OWNER:
            addresses = await _entity_address(session, event.payload["recommendation"]["owner_entity"]["id"])
        case Recipients.ENDPOINT_OWNER:
            addresses = await _entity_address(session, event.payload["webhook_endpoint"].get("owner_entity_id"))
        case _:
            assert_never(mail.to)  # a new kind of recipient needs its addresses found here
    return [(address, mail.kind) for address in addresses]


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
    found = entry(event.type)
    if found is None or found.mail is None:
        raise ValueError(f"{event.type} is not mailed (services.events.catalogue)")
    payload = event.payload
    subject, summary = found.mail.render(payload, base_url=record_base_url)
    message["Subject"] = subject
    if found.mail.to is not Recipients.INVITEES:
        message.set_content(summary)
        return message
    # A meeting's message: the summary, the meeting, its link, and its .ics (REQUEST or CANCEL).
    meeting = payload["meeting"]
    message.set_content(summary + _meeting_text(meeting) + f"\n{record_base_url}/v1/meetings/{meeting['id']}\n")
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
    message.add_attachment(ics, maintype="text", subtype="calendar", filename="meeting.ics", params={"method": method})
    return message


def _as_row(meeting: dict[str, Any]) -> dict[str, Any]:
    """A meeting as stored in an event payload, with its times parsed back."""
    row = dict(meeting)
    for key in ("starts_at", "ends_at", "updated_at"):
        row[key] = _parse_time(row[key])
    return row
