"""Queries on meetings."""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, case, cast, exists, func, literal_column, null, select
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.entities.models import Entity
from services.events.models import Event
from services.mail.models import EmailDelivery
from services.meetings.models import Meeting, MeetingInvitee, MeetingKind, MeetingReminder, MeetingStatus
from services.pagination import Page, PageRequest, page_from_rows
from services.webhooks.models import DeliveryStatus


def _invitation() -> Any:
    """Whether the invitation reached this invitee: ``sent``, ``pending`` (queued or being
    retried), ``failed``, or ``not_sent``, with why — from the latest invitation e-mail to
    the invitee's address (its own, or its entity's contact address)."""
    address = func.lower(func.coalesce(MeetingInvitee.email, Entity.contact_email))
    delivered = (
        select(
            func.jsonb_build_object(
                "status",
                case(
                    (EmailDelivery.status == DeliveryStatus.SUCCEEDED, "sent"), else_=cast(EmailDelivery.status, String)
                ),
                "reason",
                EmailDelivery.last_error,
                "sent_at",
                EmailDelivery.sent_at,
            )
        )
        .join(Event, Event.id == EmailDelivery.event_id)
        .where(
            Event.subject_type == "meeting",
            Event.subject_id == Meeting.id,
            EmailDelivery.kind == "invitation",
            EmailDelivery.recipient == address,
        )
        .order_by(EmailDelivery.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    why_not = case(
        (address.is_(None), "no e-mail address: give the entity a contact_email"),
        (Meeting.ends_at <= func.now(), "the meeting had ended before an invitation went out"),
        else_=null(),
    )
    nothing_yet = func.jsonb_build_object(
        "status", case((why_not.is_(None), "pending"), else_="not_sent"), "reason", why_not, "sent_at", null()
    )
    return func.coalesce(delivered, nothing_yet)


def _invitees() -> Any:
    entity = func.jsonb_build_object("id", Entity.id, "acronym", Entity.acronym, "name", Entity.name)
    invitee = func.jsonb_build_object(
        "id",
        MeetingInvitee.id,
        "entity",
        case((MeetingInvitee.entity_id.is_(None), null()), else_=entity),  # external invitees have none
        "name",
        MeetingInvitee.name,
        "email",
        MeetingInvitee.email,
        "attended",
        MeetingInvitee.attended,
        "invitation",
        _invitation(),
    )
    return (
        select(
            func.coalesce(
                func.jsonb_agg(aggregate_order_by(invitee, MeetingInvitee.id)),
                literal_column("'[]'::jsonb"),
                type_=JSONB,
            )
        )
        .select_from(MeetingInvitee)
        .outerjoin(Entity, Entity.id == MeetingInvitee.entity_id)
        .where(MeetingInvitee.meeting_id == Meeting.id)
        .scalar_subquery()
        .label("invitees")
    )


def _reminders() -> Any:
    reminder = func.jsonb_build_object(
        "minutes_before",
        MeetingReminder.minutes_before,
        "due_at",
        MeetingReminder.due_at,
        "sent_at",
        MeetingReminder.sent_at,
    )
    return (
        select(
            func.coalesce(
                func.jsonb_agg(aggregate_order_by(reminder, MeetingReminder.due_at)),
                literal_column("'[]'::jsonb"),
                type_=JSONB,
            )
        )
        .where(MeetingReminder.meeting_id == Meeting.id)
        .scalar_subquery()
        .label("reminders")
    )


def _select_meetings() -> Select[Any]:
    return select(  # type: ignore[return-value]
        Meeting.id,
        Meeting.network_id,
        Meeting.working_group_id,
        Meeting.kind,
        Meeting.title,
        Meeting.starts_at,
        Meeting.ends_at,
        Meeting.time_zone,
        Meeting.location,
        Meeting.online_url,
        Meeting.agenda,
        _invitees(),
        Meeting.status,
        Meeting.sequence,
        Meeting.reminder_minutes,
        _reminders(),
        Meeting.cancel_reason,
        Meeting.minutes,
        Meeting.outcomes,
        Meeting.is_demo,
        Meeting.created_at,
        Meeting.updated_at,
        Meeting.version,
    )


async def get_meeting_row(conn: AsyncConnection | AsyncSession, meeting_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_select_meetings().where(Meeting.id == meeting_id))).mappings().first()
    return dict(row) if row is not None else None


async def get_meeting_rows(
    conn: AsyncConnection | AsyncSession, meeting_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The meetings with these ids, as the API shows them, by id, in one statement (ids
    that name no meeting are left out)."""
    if not meeting_ids:
        return {}
    result = await conn.execute(_select_meetings().where(Meeting.id.in_(set(meeting_ids))))
    return {row["id"]: dict(row) for row in result.mappings()}


@dataclass(frozen=True)
class MeetingFilters:
    network_id: uuid.UUID | None = None
    working_group_id: uuid.UUID | None = None
    kind: MeetingKind | None = None
    status: MeetingStatus | None = None
    starts_after: datetime | None = None
    starts_before: datetime | None = None
    invitee_entity_id: uuid.UUID | None = None
    meeting_id: uuid.UUID | None = None


def _filtered(filters: MeetingFilters) -> Select[Any]:
    query = _select_meetings()
    if filters.network_id is not None:
        query = query.where(Meeting.network_id == filters.network_id)
    if filters.working_group_id is not None:
        query = query.where(Meeting.working_group_id == filters.working_group_id)
    if filters.meeting_id is not None:
        query = query.where(Meeting.id == filters.meeting_id)
    if filters.kind is not None:
        query = query.where(Meeting.kind == filters.kind)
    if filters.status is not None:
        query = query.where(Meeting.status == filters.status)
    if filters.starts_after is not None:
        query = query.where(Meeting.starts_at >= filters.starts_after)
    if filters.starts_before is not None:
        query = query.where(Meeting.starts_at < filters.starts_before)
    if filters.invitee_entity_id is not None:
        query = query.where(
            exists().where(
                MeetingInvitee.meeting_id == Meeting.id, MeetingInvitee.entity_id == filters.invitee_entity_id
            )
        )
    return query


def meetings_query(filters: MeetingFilters) -> Select[Any]:
    """Meetings matching the list's filters, in id order: the list pages it, an export streams it."""
    query = _filtered(filters)
    return query.order_by(Meeting.id)


async def list_meeting_rows(conn: AsyncConnection, page: PageRequest, filters: MeetingFilters) -> Page:
    query = meetings_query(filters)
    if page.after is not None:
        query = query.where(Meeting.id > page.after)
    result = await conn.execute(query.limit(page.limit + 1))
    return page_from_rows([dict(r) for r in result.mappings()], page.limit)


async def all_meeting_rows(
    conn: AsyncConnection, filters: MeetingFilters, *, limit: int = 2000
) -> list[dict[str, Any]]:
    """For calendar feeds: every meeting that matches, soonest first."""
    result = await conn.execute(_filtered(filters).order_by(Meeting.starts_at, Meeting.id).limit(limit))
    return [dict(r) for r in result.mappings()]
