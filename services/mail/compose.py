"""Who gets an e-mail for an event, and what it says. Which types are mailed, of which kind,
to whom, and their subject and summary are the catalogue's (services.events.catalogue);
this module finds the addresses and builds the message."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from html import escape
from typing import Any, assert_never

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import clock
from services.entities.models import Entity
from services.events.catalogue import entry
from services.events.models import Event
from services.events.types.common import Mail, Recipients
from services.ids import uuid7
from services.locales import DEFAULT_LANGUAGE, Localizer, localizer, translated
from services.mail.meeting_message import AnswerLinks, meeting_message
from services.mail.parties import PartyBook, answering_for, parse_time
from services.meetings.calendar import Attendee, Organizer, calendar_for
from services.meetings.links import ANSWERS, answer_url, invitation_url, link_expiry, sign_link
from services.meetings.models import MeetingInvitee
from services.mous.models import MouParty
from services.networks.models import NetworkPost
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
    if mail.kind == "invitation" and parse_time(event.payload["meeting"]["ends_at"]) <= clock.now():
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


def compose(
    event: Event,
    recipient: str,
    kind: str,
    *,
    record_base_url: str,
    parties: tuple[Organizer, list[Attendee]] | None = None,
    book: PartyBook | None = None,
    network_country_code: str | None = None,
    loc: Localizer | None = None,
) -> EmailMessage:
    """The message for one recipient, as plain text and HTML alternatives. For a meeting it
    names the network, the organiser and why ``recipient`` gets it (from ``book``, the batch's
    ``party_book_for``), what an update changed and why a cancellation was made, and carries
    the .ics (REQUEST, or CANCEL, naming the ``parties`` from ``invitation_parties``). The
    event's network's ``network_country_code`` adds the UN designation footnote it calls for.
    An invitation or reminder carries, for each invitee the recipient stands for, signed links
    to its page of the meeting and to its answers (services.meetings.links); the meeting's API
    record is not linked: its address answers a person's browser with 401.

    Written in ``loc``'s language (the recipient's: ``services.locales.recipient_language``;
    English by default): the catalogue's subject and summary, every word the registry adds,
    dates and times, the .ics's words; ``Content-Language`` says which, and the HTML says
    ``lang`` and ``dir``. Stored text (titles, names, agenda, reasons) stays as written."""
    loc = loc or localizer(DEFAULT_LANGUAGE)
    found = entry(event.type)
    if found is None or found.mail is None:
        raise ValueError(f"{event.type} is not mailed (services.events.catalogue)")
    # Headers folded by the e-mail library's rules (RFC 5322 line length, encoded words):
    # a long or non-ASCII subject reads back exactly as written.
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = get_settings().mail_from
    message["To"] = recipient
    message["Date"] = formatdate(localtime=False)
    # Short enough to stay on its header's line (make_msgid's would be folded after the colon).
    message["Message-ID"] = f"<{uuid7().hex}@migration-network-registry>"
    payload = _meeting_in_language(event.payload, loc.language)
    subject, summary = found.mail.render(payload, base_url=record_base_url, loc=loc)
    message["Subject"] = single_line(subject)  # stored text never breaks a header (docs/API.md, "Text")
    footnotes = designation_footnotes([network_country_code])
    if found.mail.to is not Recipients.INVITEES:
        text = multi_line(summary) + "".join(f"\n{note}\n" for note in footnotes)
        message.set_content(text)
        message.add_alternative(_notice_html(text, loc), subtype="html")
        message["Content-Language"] = loc.language  # after the body: setting it moves Content-* headers
        return message
    meeting = payload["meeting"]
    links = _answer_links(book, meeting, recipient, loc) if kind != "cancellation" and book is not None else []
    body = meeting_message(payload, recipient, summary=summary, book=book, footnotes=footnotes, links=links, loc=loc)
    message.set_content(body.text())
    message.add_alternative(body.html(), subtype="html")
    method = "CANCEL" if kind == "cancellation" else "REQUEST"
    organizer, attendees = parties or (None, [])
    ics = calendar_for(
        [_as_row(meeting) | {"network_country_code": network_country_code}],
        name=meeting["title"],
        record_url=None,
        method=method,
        organizer=organizer,
        attendees=attendees,
        language=loc.language,
    )
    message.add_attachment(
        ics, maintype="text", subtype="calendar", filename="meeting.ics", params={"method": method, "charset": "utf-8"}
    )
    message["Content-Language"] = loc.language  # after the body: setting it moves Content-* headers
    return message


def _answer_links(book: PartyBook, meeting: dict[str, Any], recipient: str, loc: Localizer) -> list[AnswerLinks]:
    """The signed links for each invitee ``recipient`` stands for: its page, and its answers."""
    expires_at = link_expiry(parse_time(meeting["ends_at"]))
    found = []
    for answering in answering_for(book, meeting, recipient):
        token = sign_link(
            meeting_id=uuid.UUID(str(meeting["id"])),
            invitee_id=answering.invitee_id,
            person_id=answering.person_id,
            expires_at=expires_at,
        )
        # The pages open in the language this e-mail is written in (``?lang=``).
        in_language = f"lang={loc.language}"
        answers = [
            (loc.gettext(label), f"{answer_url(token, answer)}&{in_language}") for answer, label in ANSWERS.items()
        ]
        found.append(AnswerLinks(single_line(answering.name), f"{invitation_url(token)}?{in_language}", answers))
    return found


def _meeting_in_language(payload: dict[str, Any], language: str) -> dict[str, Any]:
    """The payload with its meeting's title in ``language`` where the meeting's ``translations``
    hold one (subject, body and .ics alike), else as it is."""
    meeting = payload.get("meeting")
    if not isinstance(meeting, dict):
        return payload
    title, in_language = translated(meeting.get("title"), meeting.get("translations"), "title", language)
    return {**payload, "meeting": {**meeting, "title": title}} if in_language != DEFAULT_LANGUAGE else payload


def _notice_html(text: str, loc: Localizer) -> str:
    """A notice's text as HTML in ``loc``'s language: escaped, its paragraphs kept, each
    paragraph's direction its own (it quotes stored text), the page's the reader's."""
    paragraphs = "".join(
        '<p dir="auto">' + "<br>".join(escape(line) for line in block.splitlines()) + "</p>"
        for block in text.split("\n\n")
        if block.strip()
    )
    head = f'<html lang="{loc.language}" dir="{loc.direction}"><head><meta charset="utf-8"></head>'
    return f"<!DOCTYPE html>{head}<body>{paragraphs}</body></html>\n"


def _as_row(meeting: dict[str, Any]) -> dict[str, Any]:
    """A meeting as stored in an event payload, with its times parsed back."""
    row = dict(meeting)
    for key in ("starts_at", "ends_at", "updated_at"):
        row[key] = parse_time(row[key])
    return row
