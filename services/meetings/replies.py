"""Invitees' answers to their invitations: from the links of their e-mail (the link is the
capability: ``services.meetings.links``), or from an iTIP REPLY an integrating system posts
(RFC 5546: the attendee's PARTSTAT). Each answer is recorded on the invitee, raises
``meeting.invitee_replied``, and shows in later invitations and calendar feeds as that
attendee's PARTSTAT."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import icalendar
from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.entities.models import Entity
from services.errors import Conflict, Forbidden, Gone, InvalidInput
from services.events.service import append_event
from services.locales import N_, recipient_language
from services.meetings import repository
from services.meetings.calendar import UID_DOMAIN
from services.meetings.links import InvitationLink
from services.meetings.models import InviteeAnswer, Meeting, MeetingInvitee, MeetingStatus
from services.networks.models import Network
from services.people.models import Person
from services.people.service import pseudonym
from services.principals import Principal, Role
from services.records import loaded_change
from services.schemas import control_character_problem

PARTSTAT = {
    InviteeAnswer.ACCEPTED: "ACCEPTED",
    InviteeAnswer.TENTATIVE: "TENTATIVE",
    InviteeAnswer.DECLINED: "DECLINED",
}
_FROM_PARTSTAT = {value: key for key, value in PARTSTAT.items()}
MAX_REPLY_BYTES = 65_536  # a REPLY names one event and one attendee: a few hundred bytes


def invitee_principal(link: InvitationLink) -> Principal:
    """Who answers through a link, for the audit trail: the person of the registry it was sent
    to (by pseudonym, which survives their erasure), else the invitee itself."""
    if link.person_id is not None:
        return Principal(id=pseudonym(link.person_id), role=Role.INVITEE, person_id=link.person_id)
    return Principal(id=f"invitee:{link.invitee_id}", role=Role.INVITEE)


@dataclass(frozen=True)
class LinkedInvitation:
    """The meeting and invitee a genuine link names, as its page shows them."""

    meeting: dict[str, Any]
    invitee: dict[str, Any]
    language: str = "en"  # the invitee's: the preferred language of the person it was sent to, else the network's


async def linked_invitation(conn: AsyncConnection | AsyncSession, link: InvitationLink) -> LinkedInvitation:
    """The meeting and invitee ``link`` names, and the language to show them in (the person's
    the link was sent to, else the meeting's network's), in one statement. ``Gone`` (410)
    when the invitee was removed from the meeting since the link was sent (or the meeting no
    longer exists)."""
    person_language: Any = literal(None)
    if link.person_id is not None:
        person_language = (
            select(Person.preferred_language)
            .where(Person.id == link.person_id, Person.erased_at.is_(None))
            .scalar_subquery()
        )
    meeting = await repository.get_meeting_row(
        conn,
        link.meeting_id,
        network_language=select(Network.language).where(Network.id == Meeting.network_id).scalar_subquery(),
        person_language=person_language,
    )
    language = "en"
    if meeting is not None:
        language = recipient_language(meeting.pop("person_language"), meeting.pop("network_language"))
    invitee = None
    if meeting is not None:
        invitee = next((i for i in meeting["invitees"] if i["id"] == str(link.invitee_id)), None)
    if meeting is None or invitee is None:
        raise Gone(
            "invitation-withdrawn",
            N_(
                "This invitation was withdrawn: the invitee it was sent to is no longer invited to the meeting. "
                "If you think this is a mistake, write to the meeting's organiser."
            ),
        )
    return LinkedInvitation(meeting, invitee, language)


def require_answerable(meeting: dict[str, Any], *, now: datetime) -> None:
    """An answer is taken while the meeting is scheduled and not yet over (409 otherwise)."""
    if meeting["status"] == MeetingStatus.CANCELLED:
        raise Conflict("meeting-cancelled", N_("This meeting was cancelled; there is nothing to answer."))
    if meeting["status"] == MeetingStatus.HELD or meeting["ends_at"] <= now:
        raise Conflict("meeting-over", N_("This meeting is over; answers are no longer taken."))


async def record_answer(
    session: AsyncSession,
    *,
    meeting_id: uuid.UUID,
    invitee_id: uuid.UUID,
    answer: InviteeAnswer,
    actor: Principal,
    via: str,
    now: datetime,
) -> dict[str, Any]:
    """Record ``invitee_id``'s ``answer`` (``via``: "link" or "itip") and append
    ``meeting.invitee_replied``; the same answer again changes nothing. Returns the meeting."""
    meeting = await session.scalar(select(Meeting).where(Meeting.id == meeting_id).with_for_update())
    invitee = await session.scalar(
        select(MeetingInvitee).where(MeetingInvitee.id == invitee_id, MeetingInvitee.meeting_id == meeting_id)
    )
    if meeting is None or invitee is None:
        raise Gone(
            "invitation-withdrawn",
            "This invitation was withdrawn: the invitee is no longer invited to the meeting.",
        )
    require_answerable({"status": meeting.status, "ends_at": meeting.ends_at}, now=now)
    if invitee.answer == answer.value:
        row = await repository.get_meeting_row(session, meeting_id)
        assert row is not None
        return row
    before = invitee.answer
    invitee.answer = answer.value
    invitee.answered_at = now
    invitee.answered_by_person_id = actor.person_id
    meeting.updated_at = now  # the meeting reads differently: a new version, ETag and feed entry
    await session.flush()
    row = await repository.get_meeting_row(session, meeting_id)
    assert row is not None
    reply = {
        "id": str(invitee.id),
        "entity_id": str(invitee.entity_id) if invitee.entity_id else None,
        "name": invitee.name,
        "answer": answer.value,
        "answered_at": now,
        "via": via,
    }
    fields = loaded_change(
        event="invitee_replied",
        subject_type="meeting",
        subject_id=meeting.id,
        row=row,
        actor=actor,
        network_id=meeting.network_id,
        changes={"answer": (before, answer.value)},
        invitee=reply,
    )
    fields["before"] = {"invitee_id": str(invitee.id), "answer": before}
    fields["after"] = {"invitee_id": str(invitee.id), "answer": answer.value, "via": via}
    await append_event(session, **fields)
    return row


@dataclass(frozen=True)
class ItipReply:
    """What an iTIP REPLY says: whose answer, to which sequence of the invitation."""

    attendee: str  # the ATTENDEE's address, lower-cased: mailto:… or urn:uuid:…
    answer: InviteeAnswer
    sequence: int


def parse_itip_reply(body: bytes, *, meeting_id: uuid.UUID) -> ItipReply:
    """An iTIP REPLY (RFC 5546 §3.2.3) to this meeting, from ``body``: METHOD:REPLY, one VEVENT
    whose UID is the meeting's, one ATTENDEE with a PARTSTAT of ACCEPTED, TENTATIVE or DECLINED.
    Anything else is a 422 saying what is wrong."""
    if len(body) > MAX_REPLY_BYTES:
        raise InvalidInput(
            "itip-too-long", f"An iTIP REPLY is at most {MAX_REPLY_BYTES} bytes; this one is {len(body)}."
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput("itip-unreadable", "The REPLY is not UTF-8 text (RFC 5545 §3.1.4).") from error
    problem = control_character_problem(text, multi_line=True)
    if problem is not None:
        raise InvalidInput("itip-unreadable", f"The REPLY {problem}.")
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError) as error:
        raise InvalidInput("itip-unreadable", "The body is not an iCalendar document (RFC 5545).") from error
    if str(calendar.get("method", "")).upper() != "REPLY":
        raise InvalidInput("itip-not-a-reply", "Send an iTIP REPLY: the calendar's METHOD must be REPLY.")
    events = list(calendar.walk("VEVENT"))
    if len(events) != 1:
        raise InvalidInput("itip-not-a-reply", f"A REPLY holds exactly one VEVENT; this one holds {len(events)}.")
    event = events[0]
    uid = str(event.get("uid", ""))
    if uid != f"{meeting_id}@{UID_DOMAIN}":
        raise InvalidInput(
            "itip-other-meeting",
            f"The REPLY's UID ({uid or 'none'}) is not this meeting's ({meeting_id}@{UID_DOMAIN}).",
        )
    attendees = event.get("attendee")
    attendees = attendees if isinstance(attendees, list) else [attendees] if attendees is not None else []
    if len(attendees) != 1:
        raise InvalidInput(
            "itip-not-a-reply",
            f"A REPLY names exactly one ATTENDEE, the one answering; this one names {len(attendees)}.",
        )
    attendee = attendees[0]
    partstat = str(attendee.params.get("PARTSTAT", "")).upper()
    if partstat not in _FROM_PARTSTAT:
        raise InvalidInput(
            "itip-partstat",
            f"The ATTENDEE's PARTSTAT must be ACCEPTED, TENTATIVE or DECLINED (got {partstat or 'none'}).",
        )
    sequence = event.get("sequence")
    return ItipReply(str(attendee).strip().lower(), _FROM_PARTSTAT[partstat], int(sequence) if sequence else 0)


async def invitee_for_attendee(session: AsyncSession, meeting_id: uuid.UUID, address: str) -> uuid.UUID:
    """The invitee a REPLY's ATTENDEE stands for, checked against the meeting's invitees: an
    external invitee by its address or its ``urn:uuid`` (as invitations name it), an invited
    entity by its ``urn:uuid``, its contact address or a focal point's address. 422 otherwise."""
    invitees = (
        await session.execute(
            select(
                MeetingInvitee.id,
                MeetingInvitee.entity_id,
                func.lower(MeetingInvitee.email),
                func.lower(Entity.contact_email),
            )
            .outerjoin(Entity, Entity.id == MeetingInvitee.entity_id)
            .where(MeetingInvitee.meeting_id == meeting_id)
        )
    ).all()
    focal = {
        str(email).lower(): entity_id
        for entity_id, email in await session.execute(
            select(Person.entity_id, Person.email).where(
                Person.entity_id.in_([i.entity_id for i in invitees if i.entity_id]), Person.email.is_not(None)
            )
        )
    }
    mailto = address.removeprefix("mailto:") if address.startswith("mailto:") else None
    for invitee_id, entity_id, email, contact in invitees:
        names = {f"urn:uuid:{invitee_id}"}
        if entity_id is not None:
            names.add(f"urn:uuid:{entity_id}")
        if (mailto is not None and mailto in (email, contact)) or (
            mailto is not None and entity_id is not None and focal.get(mailto) == entity_id
        ):
            return invitee_id  # type: ignore[no-any-return]
        if address in names:
            return invitee_id  # type: ignore[no-any-return]
    raise InvalidInput("attendee-not-invited", f"The REPLY's ATTENDEE ({address}) is not an invitee of this meeting.")


async def record_itip_reply(
    session: AsyncSession, *, meeting_id: uuid.UUID, body: bytes, actor: Principal, now: datetime
) -> dict[str, Any]:
    """Record the answer an iTIP REPLY carries (``actor``: the system that posted it: the
    secretariat or an integrator; an invitee answers through its links)."""
    if not actor.is_admin and actor.role != Role.INTEGRATOR:
        raise Forbidden(
            "itip-reply-not-allowed",
            f"Your role ({actor.role}) may not post an iTIP REPLY; only the secretariat (admin role) or "
            "integrators (for their own systems) may.",
        )
    reply = parse_itip_reply(body, meeting_id=meeting_id)
    meeting = await session.get(Meeting, meeting_id)
    if meeting is not None and reply.sequence < meeting.sequence:
        raise Conflict(
            "itip-stale-reply",
            f"The REPLY answers sequence {reply.sequence} of the invitation; the meeting has changed since "
            f"(sequence {meeting.sequence}). Answer the latest invitation.",
        )
    invitee_id = await invitee_for_attendee(session, meeting_id, reply.attendee)
    return await record_answer(
        session, meeting_id=meeting_id, invitee_id=invitee_id, answer=reply.answer, actor=actor, via="itip", now=now
    )
