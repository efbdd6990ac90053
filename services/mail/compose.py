"""Who gets an e-mail for an event, and what it says. Which types are mailed, of which kind,
to whom, and their subject and summary are the catalogue's (services.events.catalogue);
this module finds the addresses and builds the message."""

import uuid
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, assert_never

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import clock
from services.entities.models import Entity
from services.events.catalogue import entry
from services.events.models import Event
from services.events.types.common import Mail, Recipients
from services.meetings.calendar import Attendee, Organizer, calendar_for
from services.meetings.models import MeetingInvitee
from services.mous.models import MouParty
from services.networks.models import NetworkPost, PostRole
from services.networks.schemas import post_active_on
from services.people import repository as people_repository
from services.reference.countries import designation_footnotes
from services.schemas import multi_line, single_line
from services.settings import get_settings


def mail_for(event: Event) -> Mail | None:
    """What e-mail this event sends (the catalogue's word), or None when it is news to no one."""
    found = entry(event.type)
    mail = found.mail if found is not None else None
    if mail is None:
        return None
    if mail.only_if_changed is not None and not mail.only_if_changed & set(event.payload.get("changes", {})):
        return None
    if mail.kind == "invitation" and _parse_time(event.payload["meeting"]["ends_at"]) <= clock.now():
        return None  # an invitation to a meeting that is over helps nobody (demo data's past meetings)
    return mail


def _entity_id(value: Any) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


def _addressee(event: Event, to: Recipients) -> uuid.UUID | None:
    """The entity an event addressed to one entity names (a review's lead, a recommendation's
    owner, an endpoint's owner); None for the other kinds of recipient."""
    match to:
        case Recipients.REVIEW_LEAD_AND_COORDINATOR:
            return _entity_id(event.payload["review"]["lead_entity"]["id"])
        case Recipients.RECOMMENDATION_OWNER:
            return _entity_id(event.payload["recommendation"]["owner_entity"]["id"])
        case Recipients.ENDPOINT_OWNER:
            return _entity_id(event.payload["webhook_endpoint"].get("owner_entity_id"))
        case Recipients.PLEDGER_AND_COORDINATOR:
            pledger = event.payload["pledge"].get("pledger_entity")
            return _entity_id(pledger["id"]) if pledger else None  # a member state's pledge has no entity
        case _:
            return None


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


def _entity_addresses() -> tuple[Any, Any]:
    """An entity's addresses on the day the mail is composed: its focal points' (one row
    each), or its contact address when it has none. The subquery to outer-join on the
    entity's id, and the address column (which falls back to the contact address)."""
    focal_points = people_repository.focal_point_subquery(clock.today())
    return focal_points, func.coalesce(focal_points.c.email, Entity.contact_email)


async def address_book_for(session: AsyncSession, events: Iterable[Event]) -> AddressBook:
    """Every address ``events`` may go to, in at most one statement per kind of addressee,
    whatever the number of events. An entity is written to at its focal points' addresses
    (those holding a focal-point post for it today), or its contact address when it has none."""
    meetings: set[uuid.UUID] = set()
    mous: set[uuid.UUID] = set()
    networks: set[uuid.UUID] = set()
    entities: set[uuid.UUID] = set()
    for event in events:
        mail = mail_for(event)
        if mail is None:
            continue
        match mail.to:
            case Recipients.INVITEES:
                meetings.add(event.subject_id)
            case Recipients.MOU_PARTIES:
                mous.add(event.subject_id)
            case Recipients.COORDINATOR:
                networks.add(event.subject_id)
            case (
                Recipients.REVIEW_LEAD_AND_COORDINATOR
                | Recipients.NETWORK_COORDINATOR
                | Recipients.PLEDGER_AND_COORDINATOR
            ):
                if event.network_id is not None:
                    networks.add(event.network_id)  # the coordinator (the secretariat) alongside the lead
        if (entity_id := _addressee(event, mail.to)) is not None:
            entities.add(entity_id)
    book = AddressBook({}, {}, {}, {})
    focal_points, entity_address = _entity_addresses()
    if meetings:
        # An external invitee's own address; an entity's focal points, or its contact address.
        book.invitees.update(
            _by_key(
                await session.execute(
                    select(MeetingInvitee.meeting_id, func.coalesce(MeetingInvitee.email, entity_address))
                    .outerjoin(Entity, Entity.id == MeetingInvitee.entity_id)
                    .outerjoin(focal_points, focal_points.c.entity_id == MeetingInvitee.entity_id)
                    .where(MeetingInvitee.meeting_id.in_(meetings))
                )
            )
        )
    if mous:
        book.parties.update(
            _by_key(
                await session.execute(
                    select(MouParty.mou_id, entity_address)
                    .join(Entity, Entity.id == MouParty.entity_id)
                    .outerjoin(focal_points, focal_points.c.entity_id == Entity.id)
                    .where(MouParty.mou_id.in_(mous))
                )
            )
        )
    if networks:
        # The entities holding one of the network's posts today: its coordinators and secretariats.
        book.coordinators.update(
            _by_key(
                await session.execute(
                    select(NetworkPost.network_id, entity_address)
                    .join(Entity, Entity.id == NetworkPost.entity_id)
                    .outerjoin(focal_points, focal_points.c.entity_id == Entity.id)
                    .where(NetworkPost.network_id.in_(networks), post_active_on(clock.today()))
                )
            )
        )
    if entities:
        book.entities.update(
            _by_key(
                await session.execute(
                    select(Entity.id, entity_address)
                    .outerjoin(focal_points, focal_points.c.entity_id == Entity.id)
                    .where(Entity.id.in_(entities))
                )
            )
        )
    return book


def _looked_up(addresses: dict[uuid.UUID, list[str]], key: uuid.UUID | None) -> list[str]:
    return addresses.get(key, []) if key is not None else []


async def recipients_for(
    session: AsyncSession, event: Event, *, address_book: AddressBook | None = None
) -> list[tuple[str, str]]:
    """(address, kind) for each person this event is news to: the catalogue says whether its
    type is mailed, of what kind, and to whom. ``address_book``: that of the batch the event
    is relayed in (``address_book_for``); without it, this event's addresses are read here."""
    mail = mail_for(event)
    if mail is None:
        return []
    book = address_book if address_book is not None else await address_book_for(session, [event])
    match mail.to:
        case Recipients.INVITEES:
            addresses = book.invitees.get(event.subject_id, [])
        case Recipients.MOU_PARTIES:
            addresses = book.parties.get(event.subject_id, [])
        case Recipients.COORDINATOR:
            addresses = book.coordinators.get(event.subject_id, [])
        case Recipients.NETWORK_COORDINATOR:
            addresses = _looked_up(book.coordinators, event.network_id)
        case Recipients.REVIEW_LEAD_AND_COORDINATOR | Recipients.PLEDGER_AND_COORDINATOR:
            lead = _looked_up(book.entities, _addressee(event, mail.to))
            addresses = sorted(set(lead) | set(_looked_up(book.coordinators, event.network_id)))
        case Recipients.RECOMMENDATION_OWNER | Recipients.ENDPOINT_OWNER:
            addresses = _looked_up(book.entities, _addressee(event, mail.to))
        case _:
            assert_never(mail.to)  # a new kind of recipient needs its addresses found here
    return [(address, mail.kind) for address in addresses]


EN_DASH = "\u2013"


def _parse_time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _day(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def meeting_day(meeting: dict[str, Any]) -> date:
    """The day the meeting starts, in its own time zone."""
    return _parse_time(meeting["starts_at"]).astimezone(zoneinfo.ZoneInfo(str(meeting["time_zone"]))).date()


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
    place = single_line(", ".join(p for p in (meeting.get("location"), meeting.get("online_url")) if p))
    lines = [single_line(str(meeting["title"])), meeting_times(meeting)]
    if place:
        lines.append(place)
    agenda = [f"  {i}. {single_line(item['title'])}" for i, item in enumerate(meeting.get("agenda") or [], start=1)]
    if agenda:
        lines += ["", "Agenda:", *agenda]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class PartyBook:
    """What the invitations of a batch name, read once for the batch (``party_book_for``):
    each network's secretariat posts (their holder's name and contact address, the days they
    run, in the order the lead is chosen) and each invited entity's contact address."""

    secretariats: dict[uuid.UUID, list[tuple[date, date | None, str, str | None]]]
    contacts: dict[uuid.UUID, str | None]

    def lead_secretariat(self, meeting: dict[str, Any]) -> tuple[str, str | None] | None:
        """The network's lead secretariat on the meeting's day: of the secretariat posts
        running that day, the first to start (as ``networks.schemas.lead_post`` chooses)."""
        day = meeting_day(meeting)
        for start, end, name, address in self.secretariats.get(uuid.UUID(str(meeting["network_id"])), []):
            if start <= day and (end is None or end >= day):
                return name, address
        return None


def _invited_entities(meeting: dict[str, Any]) -> list[uuid.UUID]:
    return [uuid.UUID(str(i["entity"]["id"])) for i in meeting["invitees"] if i.get("entity")]


async def party_book_for(conn: AsyncConnection | AsyncSession, meetings: list[dict[str, Any]]) -> PartyBook:
    """The secretariats and contact addresses the invitations to ``meetings`` name: two
    statements whatever the number of meetings (none without meetings)."""
    if not meetings:
        return PartyBook({}, {})
    network_ids = sorted({uuid.UUID(str(meeting["network_id"])) for meeting in meetings})
    posts = await conn.execute(
        select(NetworkPost.network_id, NetworkPost.start_date, NetworkPost.end_date, Entity.name, Entity.contact_email)
        .join(Entity, NetworkPost.entity_id == Entity.id)
        .where(NetworkPost.network_id.in_(network_ids), NetworkPost.role == PostRole.SECRETARIAT)
        .order_by(NetworkPost.start_date, NetworkPost.id)
    )
    secretariats: dict[uuid.UUID, list[tuple[date, date | None, str, str | None]]] = {}
    for network_id, start, end, name, address in posts:
        secretariats.setdefault(network_id, []).append((start, end, name, address))
    entity_ids = sorted({entity_id for meeting in meetings for entity_id in _invited_entities(meeting)})
    contacts: dict[uuid.UUID, str | None] = {}
    if entity_ids:
        rows = await conn.execute(select(Entity.id, Entity.contact_email).where(Entity.id.in_(entity_ids)))
        contacts = {row[0]: row[1] for row in rows}
    return PartyBook(secretariats, contacts)


def invitation_parties(book: PartyBook, meeting: dict[str, Any], recipient: str) -> tuple[Organizer, list[Attendee]]:
    """The organizer (the network's lead secretariat on the meeting's day) and one attendee
    per invitee, as the invitation to ``recipient`` shows them: an external stakeholder's
    address appears only in the message to that stakeholder (personal data), others by
    ``urn:uuid``."""
    coordinator = book.lead_secretariat(meeting)
    registry_name, registry_address = parseaddr(get_settings().mail_from)
    organizer = Organizer(
        name=coordinator[0] if coordinator else registry_name,
        email=(coordinator[1] if coordinator and coordinator[1] else registry_address),
    )
    attendees = []
    for invitee in meeting["invitees"]:
        entity = invitee.get("entity")
        if entity:
            contact = book.contacts.get(uuid.UUID(str(entity["id"])))
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
    network_country_code: str | None = None,
) -> EmailMessage:
    """The message for one recipient: for a meeting, with its .ics (REQUEST, or CANCEL,
    naming the ``parties`` from ``invitation_parties``). The event's network's
    ``network_country_code`` adds the UN designation footnote it calls for, to both."""
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
    message["Subject"] = single_line(subject)  # stored text never breaks a header (docs/API.md, "Text")
    footnotes = "".join(f"\n{note}\n" for note in designation_footnotes([network_country_code]))
    if found.mail.to is not Recipients.INVITEES:
        message.set_content(multi_line(summary) + footnotes)
        return message
    # A meeting's message: the summary, the meeting, its link, and its .ics (REQUEST or CANCEL).
    meeting = payload["meeting"]
    link = f"\n{record_base_url}/v1/meetings/{meeting['id']}\n"
    message.set_content(multi_line(summary) + _meeting_text(meeting) + link + footnotes)
    method = "CANCEL" if kind == "cancellation" else "REQUEST"
    organizer, attendees = parties or (None, [])
    ics = calendar_for(
        [_as_row(meeting) | {"network_country_code": network_country_code}],
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
