"""Who a meeting's e-mail names, read once for a batch of e-mails (``party_book_for``): the
network and working group by name, the organiser (the network's lead secretariat on the
meeting's day), and for each invited entity its name, its contact address, its focal points'
addresses and the working groups it sits in, so that each recipient is told why they get it."""

import uuid
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parseaddr
from typing import Any

from sqlalchemy import func, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import clock
from services.entities.models import Entity
from services.locales import DEFAULT_LANGUAGE, Localizer, localizer, translated
from services.meetings.calendar import Attendee, Organizer
from services.networks.models import Network, NetworkPost, PostRole
from services.people import repository as people_repository
from services.settings import get_settings
from services.working_groups.models import WorkingGroup, WorkingGroupPost


def parse_time(value: Any) -> datetime:
    """A time as an event payload stores it (ISO text), or already parsed."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def meeting_day(meeting: dict[str, Any]) -> date:
    """The day the meeting starts, in its own time zone."""
    return parse_time(meeting["starts_at"]).astimezone(zoneinfo.ZoneInfo(str(meeting["time_zone"]))).date()


@dataclass(frozen=True)
class InvitedEntity:
    """An invited entity as its e-mails need it: its name, contact address, the addresses of
    its focal points today (lower-cased) and the working groups it holds a post in today."""

    name: str
    contact: str | None
    focal_points: frozenset[str]
    working_groups: frozenset[uuid.UUID]
    people: tuple[tuple[str, uuid.UUID], ...] = ()  # each focal point's address (lower-cased) and person

    def person_at(self, address: str) -> uuid.UUID | None:
        """The focal point (a person of the registry) whose address ``address`` is."""
        return next((person for email, person in self.people if email == address.lower()), None)


@dataclass(frozen=True)
class PartyBook:
    """What the meeting e-mails of a batch name (``party_book_for``): each network's
    secretariat posts (their holder's name and contact address, the days they run, in the
    order the lead is chosen), the networks' and working groups' names by id, and the invited
    entities by id."""

    secretariats: dict[uuid.UUID, list[tuple[date, date | None, str, str | None]]]
    names: dict[uuid.UUID, str]
    invited: dict[uuid.UUID, InvitedEntity]
    translations: dict[uuid.UUID, Any] = field(default_factory=dict)  # as stored on the record

    def lead_secretariat(self, meeting: dict[str, Any]) -> tuple[str, str | None] | None:
        """The network's lead secretariat on the meeting's day: of the secretariat posts
        running that day, the first to start (as ``networks.schemas.lead_post`` chooses)."""
        day = meeting_day(meeting)
        for start, end, name, address in self.secretariats.get(uuid.UUID(str(meeting["network_id"])), []):
            if start <= day and (end is None or end >= day):
                return name, address
        return None

    def name_of(self, record_id: Any, language: str = DEFAULT_LANGUAGE) -> str | None:
        """A network's or working group's name (None: no id, or a record since removed), in
        ``language`` where its ``translations`` hold it, else the English original."""
        if record_id is None:
            return None
        key = uuid.UUID(str(record_id))
        return translated(self.names.get(key), self.translations.get(key), "name", language)[0]


def _invited_entities(meeting: dict[str, Any]) -> list[uuid.UUID]:
    return [uuid.UUID(str(i["entity"]["id"])) for i in meeting["invitees"] if i.get("entity")]


async def party_book_for(
    conn: AsyncConnection | AsyncSession,
    meetings: list[dict[str, Any]],
    *,
    former_invitees: Iterable[dict[str, Any]] = (),
) -> PartyBook:
    """The parties the e-mails about ``meetings`` name (and the entities among
    ``former_invitees``, those an update removed, by name): three statements whatever the
    number of meetings (two without invited entities, none without meetings)."""
    if not meetings:
        return PartyBook({}, {}, {})
    network_ids = sorted({uuid.UUID(str(meeting["network_id"])) for meeting in meetings})
    group_ids = sorted({uuid.UUID(str(m["working_group_id"])) for m in meetings if m.get("working_group_id")})
    posts = await conn.execute(
        select(NetworkPost.network_id, NetworkPost.start_date, NetworkPost.end_date, Entity.name, Entity.contact_email)
        .join(Entity, NetworkPost.entity_id == Entity.id)
        .where(NetworkPost.network_id.in_(network_ids), NetworkPost.role == PostRole.SECRETARIAT)
        .order_by(NetworkPost.start_date, NetworkPost.id)
    )
    secretariats: dict[uuid.UUID, list[tuple[date, date | None, str, str | None]]] = {}
    for network_id, start, end, name, address in posts:
        secretariats.setdefault(network_id, []).append((start, end, name, address))
    named = union_all(
        select(Network.id, Network.name, Network.translations).where(Network.id.in_(network_ids)),
        select(WorkingGroup.id, WorkingGroup.name, WorkingGroup.translations).where(WorkingGroup.id.in_(group_ids)),
    )
    names: dict[uuid.UUID, str] = {}
    translations: dict[uuid.UUID, Any] = {}
    for record_id, name, stored in await conn.execute(named):
        names[record_id], translations[record_id] = name, stored
    entity_ids = sorted(
        {entity_id for meeting in meetings for entity_id in _invited_entities(meeting)}
        | {uuid.UUID(str(i["entity_id"])) for i in former_invitees if i.get("entity_id")}
    )
    invited: dict[uuid.UUID, InvitedEntity] = {}
    if entity_ids:
        invited = await _invited(conn, entity_ids, group_ids)
    return PartyBook(secretariats, names, invited, translations)


async def _invited(
    conn: AsyncConnection | AsyncSession, entity_ids: list[uuid.UUID], group_ids: list[uuid.UUID]
) -> dict[uuid.UUID, InvitedEntity]:
    """The invited entities, with their focal points' addresses and their seats in the
    meetings' working groups, as of today (when the e-mail is written): one statement."""
    today = clock.today()
    focal_points = people_repository.focal_point_subquery(today)
    addresses = (
        select(func.array_agg(func.lower(focal_points.c.email)))
        .where(focal_points.c.entity_id == Entity.id)
        .scalar_subquery()
    )
    people = (
        select(func.array_agg(focal_points.c.person_id)).where(focal_points.c.entity_id == Entity.id).scalar_subquery()
    )
    seats = (
        select(func.array_agg(WorkingGroupPost.working_group_id))
        .where(
            WorkingGroupPost.entity_id == Entity.id,
            WorkingGroupPost.working_group_id.in_(group_ids),
            WorkingGroupPost.start_date <= today,
            or_(WorkingGroupPost.end_date.is_(None), WorkingGroupPost.end_date >= today),
        )
        .scalar_subquery()
        if group_ids
        else literal_column("NULL")
    )
    rows = await conn.execute(
        select(Entity.id, Entity.name, Entity.contact_email, addresses, seats, people).where(Entity.id.in_(entity_ids))
    )
    return {
        entity_id: InvitedEntity(
            name,
            contact,
            frozenset(focal or ()),
            frozenset(groups or ()),
            tuple(zip(focal or (), persons or (), strict=True)),
        )
        for entity_id, name, contact, focal, groups, persons in rows
    }


def organiser(book: PartyBook, meeting: dict[str, Any]) -> tuple[Organizer, bool]:
    """Who organises the meeting: the network's lead secretariat on its day, or (when the
    network has none that day) the registry itself, as the mail settings name it. The flag
    says whether it is the secretariat."""
    secretariat = book.lead_secretariat(meeting)
    registry_name, registry_address = parseaddr(get_settings().mail_from)
    if secretariat is None:
        return Organizer(name=registry_name or registry_address, email=registry_address), False
    return Organizer(name=secretariat[0], email=secretariat[1] or registry_address), True


def invitation_parties(book: PartyBook, meeting: dict[str, Any], recipient: str) -> tuple[Organizer, list[Attendee]]:
    """The organizer (``organiser``) and one attendee per invitee, as the invitation to
    ``recipient`` shows them: an external stakeholder's address appears only in the message
    to that stakeholder (personal data), others by ``urn:uuid``."""
    attendees = []
    for invitee in meeting["invitees"]:
        entity = invitee.get("entity")
        if entity:
            found = book.invited.get(uuid.UUID(str(entity["id"])))
            contact = found.contact if found is not None else None
            address = f"mailto:{contact}" if contact else f"urn:uuid:{entity['id']}"
            attendees.append(
                Attendee(name=str(entity["name"]), address=address, is_group=True, answer=invitee.get("answer"))
            )
        else:
            mine = str(invitee.get("email") or "").lower() == recipient.lower()
            address = f"mailto:{invitee['email']}" if mine else f"urn:uuid:{invitee['id']}"
            attendees.append(
                Attendee(name=str(invitee["name"]), address=address, is_group=False, answer=invitee.get("answer"))
            )
    return organiser(book, meeting)[0], attendees


def reasons_for(book: PartyBook, meeting: dict[str, Any], recipient: str, loc: Localizer | None = None) -> list[str]:
    """Why ``recipient`` gets this meeting's e-mail, one phrase per invitee it stands for
    ("the focal point of UNHCR, a member of working group Returns"): an external invitee
    with this address; an entity whose focal point it is; an entity without a focal point
    whose contact address it is. Empty when none matches any more (a post ended since the
    e-mail was queued). In ``loc``'s language (English by default)."""
    loc = loc or localizer(DEFAULT_LANGUAGE)
    _ = loc.gettext
    address = recipient.lower()
    group_id = uuid.UUID(str(meeting["working_group_id"])) if meeting.get("working_group_id") else None
    group = book.name_of(group_id, loc.language)
    reasons = []
    for invitee in meeting["invitees"]:
        entity = invitee.get("entity")
        if not entity:
            if str(invitee.get("email") or "").lower() == address:
                reasons.append(_("{name}, by name").format(name=invitee["name"]))
            continue
        found = book.invited.get(uuid.UUID(str(entity["id"])))
        if found is None:
            continue
        if address in found.focal_points:
            if len(found.focal_points) == 1:
                reason = _("the focal point of {entity}").format(entity=found.name)
            else:
                reason = _("a focal point of {entity}").format(entity=found.name)
        elif not found.focal_points and (found.contact or "").lower() == address:
            reason = _("the contact address of {entity}, which has no focal point on record").format(entity=found.name)
        else:
            continue
        if group is not None and group_id in found.working_groups:
            reason = _("{reason}, a member of working group {group}").format(reason=reason, group=group)
        reasons.append(reason)
    return reasons


@dataclass(frozen=True)
class Answering:
    """An invitee ``recipient`` may answer for: its id and name, and the person of the registry
    the e-mail goes to on its behalf (a focal point), if any."""

    invitee_id: uuid.UUID
    name: str
    person_id: uuid.UUID | None


def answering_for(book: PartyBook, meeting: dict[str, Any], recipient: str) -> list[Answering]:
    """The invitees ``recipient`` stands for, as ``reasons_for`` finds them: each gets its own
    signed links in the e-mail (services.meetings.links)."""
    address = recipient.lower()
    found = []
    for invitee in meeting["invitees"]:
        entity = invitee.get("entity")
        if not entity:
            if str(invitee.get("email") or "").lower() == address:
                found.append(Answering(uuid.UUID(str(invitee["id"])), str(invitee["name"]), None))
            continue
        invited = book.invited.get(uuid.UUID(str(entity["id"])))
        if invited is None:
            continue
        if address in invited.focal_points:
            found.append(Answering(uuid.UUID(str(invitee["id"])), invited.name, invited.person_at(address)))
        elif not invited.focal_points and (invited.contact or "").lower() == address:
            found.append(Answering(uuid.UUID(str(invitee["id"])), invited.name, None))
    return found
