"""Rules for meetings (docs/DOMAIN.md, "Meetings and the annual rule")."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import clock
from services.entities.models import Entity
from services.errors import Conflict, InvalidInput, NotFound
from services.events.service import EventFields, append_events
from services.meetings import repository
from services.meetings.models import (
    DEFAULT_REMINDER_MINUTES,
    InviteeAnswer,
    Meeting,
    MeetingInvitee,
    MeetingReminder,
    MeetingStatus,
)
from services.meetings.schemas import InviteeIn, MeetingCancel, MeetingCreate, MeetingHold, MeetingUpdate
from services.memberships.models import Membership
from services.memberships.repository import active_on
from services.networks.models import Network
from services.networks.posts import require_network_lead
from services.principals import SYSTEM, Principal
from services.records import apply_patch, check_version, patch_translations, record_change
from services.schemas import stored_translations
from services.working_groups.models import WorkingGroup

# Changes a calendar must pick up: they bump SEQUENCE.
SIGNIFICANT = frozenset({"starts_at", "ends_at", "time_zone", "location", "online_url"})
NESTED = frozenset({"invitees", "agenda", "reminder_minutes", "translations"})


async def _record(
    session: AsyncSession, event: str, meeting: Meeting, actor: Principal, **details: Any
) -> dict[str, Any]:
    return await record_change(
        session,
        event=event,
        subject_type="meeting",
        subject_id=meeting.id,
        network_id=meeting.network_id,
        load_row=repository.get_meeting_row,
        actor=actor,
        **details,
    )


async def load_meeting_for_update(session: AsyncSession, meeting_id: uuid.UUID) -> Meeting:
    meeting = await session.scalar(select(Meeting).where(Meeting.id == meeting_id).with_for_update())
    if meeting is None:
        raise NotFound("meeting-not-found", f"No meeting has id {meeting_id}.")
    return meeting


async def _replace_invitees(session: AsyncSession, meeting: Meeting, invitees: list[InviteeIn]) -> None:
    """Entities of the network (its members) or registered stakeholders; external people by e-mail."""
    day = meeting.starts_at.date()
    seen: set[object] = set()
    for invitee in invitees:
        key = invitee.entity_id or (invitee.email or "").lower()
        if key in seen:
            raise InvalidInput("duplicate-invitee", "The same invitee is listed twice.")
        seen.add(key)
        if invitee.entity_id is None:
            continue
        entity = await session.get(Entity, invitee.entity_id)
        if entity is None:
            raise InvalidInput(
                "reference-not-found", f"Invitee entity_id {invitee.entity_id} is not an entity of the registry."
            )
        if entity.un_system:
            member = await session.scalar(
                select(Membership.id).where(
                    Membership.network_id == meeting.network_id, Membership.entity_id == entity.id, active_on(day)
                )
            )
            if member is None:
                raise Conflict(
                    "invitee-not-a-member",
                    f"{entity.acronym} is a UN-system entity but not a member of the network on {day}; invite members and stakeholders.",
                )
    # An invitee listed again keeps its row: its id (the links it was sent) and its answer.
    existing = {
        (row.entity_id or (row.email or "").lower()): row
        for row in (await session.scalars(select(MeetingInvitee).where(MeetingInvitee.meeting_id == meeting.id))).all()
    }
    kept = {invitee.entity_id or (invitee.email or "").lower() for invitee in invitees}
    gone = [row.id for key, row in existing.items() if key not in kept]
    if gone:
        await session.execute(delete(MeetingInvitee).where(MeetingInvitee.id.in_(gone)))
    for invitee in invitees:
        row = existing.get(invitee.entity_id or (invitee.email or "").lower())
        if row is not None:
            row.name, row.email = invitee.name, invitee.email
        else:
            session.add(
                MeetingInvitee(
                    meeting_id=meeting.id, entity_id=invitee.entity_id, name=invitee.name, email=invitee.email
                )
            )


async def _sync_reminders(session: AsyncSession, meeting: Meeting) -> None:
    """Reminders follow the meeting: unsent ones move with it; one already sent is not sent again;
    none is kept for a meeting that is no longer scheduled."""
    if meeting.status != MeetingStatus.SCHEDULED:
        await session.execute(
            delete(MeetingReminder).where(MeetingReminder.meeting_id == meeting.id, MeetingReminder.sent_at.is_(None))
        )
        return
    existing = {
        r.minutes_before: r
        for r in (await session.scalars(select(MeetingReminder).where(MeetingReminder.meeting_id == meeting.id))).all()
    }
    now = clock.now()
    for minutes, stale in existing.items():
        if stale.sent_at is None and minutes not in meeting.reminder_minutes:
            await session.delete(stale)
    for minutes in meeting.reminder_minutes:
        due_at = meeting.starts_at - timedelta(minutes=minutes)
        reminder = existing.get(minutes)
        if reminder is None:
            if due_at > now:  # a reminder whose moment has passed is not sent late
                session.add(MeetingReminder(meeting_id=meeting.id, minutes_before=minutes, due_at=due_at))
        elif reminder.sent_at is None:
            if due_at > now:
                reminder.due_at = due_at
            else:  # moved so close that this reminder's moment has passed
                await session.delete(reminder)
    await session.flush()


async def create_meeting(
    session: AsyncSession, *, data: MeetingCreate, actor: Principal, is_demo: bool = False
) -> dict[str, Any]:
    """Schedule a meeting (admins, or a focal point of an entity holding one of the
    network's coordinator or secretariat posts today: its leads organise its meetings)."""
    await require_network_lead(session, actor, data.network_id, "schedule this network's meetings")
    if await session.get(Network, data.network_id) is None:
        raise InvalidInput("reference-not-found", f"network_id {data.network_id} is not a network of the registry.")
    if data.working_group_id is not None:
        group = await session.get(WorkingGroup, data.working_group_id)
        if group is None or group.network_id != data.network_id:
            raise InvalidInput("reference-not-found", "working_group_id is not a working group of this network.")
    meeting = Meeting(
        **data.model_dump(exclude=set(NESTED)),
        agenda=[item.model_dump() for item in data.agenda or []],
        translations=stored_translations(data.translations),
        reminder_minutes=data.reminder_minutes if data.reminder_minutes is not None else DEFAULT_REMINDER_MINUTES,
        is_demo=is_demo,
    )
    session.add(meeting)
    await session.flush()
    await _replace_invitees(session, meeting, data.invitees or [])
    await _sync_reminders(session, meeting)
    return await _record(session, "created", meeting, actor)


def _require_scheduled(meeting: Meeting, action: str) -> None:
    if meeting.status != MeetingStatus.SCHEDULED:
        raise Conflict("meeting-not-scheduled", f"A {meeting.status.value} meeting cannot be {action}.")


async def update_meeting(
    session: AsyncSession, *, meeting_id: uuid.UUID, data: MeetingUpdate, expected_version: int | None, actor: Principal
) -> dict[str, Any]:
    meeting = await load_meeting_for_update(session, meeting_id)
    await require_network_lead(session, actor, meeting.network_id, "change this meeting")
    check_version("meeting", meeting.version, expected_version)
    _require_scheduled(meeting, "changed")
    fields = data.model_fields_set
    starts = data.starts_at if "starts_at" in fields and data.starts_at else meeting.starts_at
    ends = data.ends_at if "ends_at" in fields and data.ends_at else meeting.ends_at
    if ends <= starts:
        raise InvalidInput("invalid-period", "ends_at must be after starts_at.")
    location = data.location if "location" in fields else meeting.location
    online = data.online_url if "online_url" in fields else meeting.online_url
    if not (location or online):
        raise InvalidInput("meeting-without-place", "A meeting keeps a location, an online_url, or both.")
    changes = apply_patch(
        meeting, data, required=frozenset({"title", "starts_at", "ends_at", "time_zone"}), skip=NESTED
    )
    changes.update(patch_translations(meeting, data))
    if "agenda" in fields and data.agenda is not None:
        agenda = [item.model_dump() for item in data.agenda]
        if agenda != meeting.agenda:
            changes["agenda"] = (meeting.agenda, agenda)
            meeting.agenda = agenda
    if (
        "reminder_minutes" in fields
        and data.reminder_minutes is not None
        and data.reminder_minutes != meeting.reminder_minutes
    ):
        changes["reminder_minutes"] = (meeting.reminder_minutes, data.reminder_minutes)
        meeting.reminder_minutes = data.reminder_minutes
    if "invitees" in fields and data.invitees is not None:
        before = await repository.invitee_inputs(session, meeting.id)  # the updated invitation shows was and now
        await _replace_invitees(session, meeting, data.invitees)
        changes["invitees"] = (before, [i.model_dump(mode="json") for i in data.invitees])
        meeting.updated_at = clock.now()
    if SIGNIFICANT & changes.keys():
        meeting.sequence += 1
    await session.flush()
    await _sync_reminders(session, meeting)
    return await _record(session, "updated", meeting, actor, changes=changes)


async def cancel_meeting(
    session: AsyncSession, *, meeting_id: uuid.UUID, data: MeetingCancel, expected_version: int | None, actor: Principal
) -> dict[str, Any]:
    meeting = await load_meeting_for_update(session, meeting_id)
    await require_network_lead(session, actor, meeting.network_id, "cancel this meeting")
    check_version("meeting", meeting.version, expected_version)
    _require_scheduled(meeting, "cancelled")
    meeting.status = MeetingStatus.CANCELLED
    meeting.cancel_reason = data.reason
    meeting.sequence += 1
    await _sync_reminders(session, meeting)
    return await _record(
        session,
        "cancelled",
        meeting,
        actor,
        changes={"status": ("scheduled", "cancelled"), "cancel_reason": (None, data.reason)},
    )


async def hold_meeting(
    session: AsyncSession, *, meeting_id: uuid.UUID, data: MeetingHold, expected_version: int | None, actor: Principal
) -> dict[str, Any]:
    """Record that the meeting took place: minutes, attendance by entity, outcomes."""
    meeting = await load_meeting_for_update(session, meeting_id)
    await require_network_lead(session, actor, meeting.network_id, "record this meeting as held")
    check_version("meeting", meeting.version, expected_version)
    _require_scheduled(meeting, "held")
    if meeting.starts_at > clock.now():
        raise Conflict(
            "meeting-in-the-future",
            f"The meeting starts at {meeting.starts_at.isoformat()}; record it once it has taken place.",
        )
    rows = (
        await session.execute(
            select(MeetingInvitee.entity_id, MeetingInvitee.answer).where(
                MeetingInvitee.meeting_id == meeting_id, MeetingInvitee.entity_id.is_not(None)
            )
        )
    ).all()
    invited = {entity_id for entity_id, _ in rows}
    # Without a list, the attendance starts from the answers: the entities that accepted.
    attended = (
        data.attended_entity_ids
        if data.attended_entity_ids is not None
        else [entity_id for entity_id, answer in rows if answer == InviteeAnswer.ACCEPTED]
    )
    strangers = [str(e) for e in attended if e not in invited]
    if strangers:
        raise InvalidInput(
            "attendee-not-invited", f"Attendance lists invited entities only; not invited: {', '.join(strangers)}."
        )
    await session.execute(
        update(MeetingInvitee)
        .where(MeetingInvitee.meeting_id == meeting_id, MeetingInvitee.entity_id.is_not(None))
        .values(attended=MeetingInvitee.entity_id.in_(attended) if attended else False)
    )
    meeting.status = MeetingStatus.HELD
    meeting.minutes = data.minutes
    meeting.outcomes = list(data.outcomes)
    meeting.sequence += 1
    await _sync_reminders(session, meeting)
    return await _record(
        session,
        "held",
        meeting,
        actor,
        changes={
            "status": ("scheduled", "held"),
            "attended_entity_ids": (None, [str(e) for e in attended]),
        },
    )


async def send_due_reminders(session: AsyncSession, *, now: datetime, limit: int = 200) -> int:
    """Send every reminder that is due, each exactly once: claim it (SKIP LOCKED), mark it
    sent and append ``meeting.reminder_due`` in one transaction; notifications fan it out."""
    reminders = (
        await session.scalars(
            select(MeetingReminder)
            .join(Meeting, Meeting.id == MeetingReminder.meeting_id)
            .where(
                MeetingReminder.sent_at.is_(None),
                MeetingReminder.due_at <= now,
                Meeting.status == MeetingStatus.SCHEDULED,
            )
            .order_by(MeetingReminder.due_at)
            .limit(limit)
            .with_for_update(of=MeetingReminder, skip_locked=True)
        )
    ).all()
    # The batch's meetings in one read, as they stood before this batch was marked sent.
    rows = await repository.get_meeting_rows(session, {reminder.meeting_id for reminder in reminders})
    for reminder in reminders:
        reminder.sent_at = now
    await append_events(
        session,
        [
            EventFields(
                type="meeting.reminder_due",
                subject_type="meeting",
                subject_id=reminder.meeting_id,
                network_id=rows[reminder.meeting_id]["network_id"],
                actor=SYSTEM,
                payload={"meeting": rows[reminder.meeting_id], "minutes_before": reminder.minutes_before},
                after={"reminder_minutes_before": reminder.minutes_before, "due_at": reminder.due_at},
            )
            for reminder in reminders
        ],
    )
    return len(reminders)


async def due_reminder_exists(conn: AsyncConnection | AsyncSession, *, now: datetime) -> bool:
    query = (
        select(MeetingReminder.id)
        .join(Meeting, Meeting.id == MeetingReminder.meeting_id)
        .where(
            MeetingReminder.sent_at.is_(None), MeetingReminder.due_at <= now, Meeting.status == MeetingStatus.SCHEDULED
        )
        .limit(1)
    )
    return (await conn.scalar(query)) is not None
