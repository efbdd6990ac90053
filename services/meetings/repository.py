"""Queries on meetings."""

import functools
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.meetings.models import Meeting, MeetingInvitee, MeetingKind, MeetingStatus
from services.meetings.schemas import MeetingOut
from services.networks.models import Network
from services.pagination import Page, PageRequest, fetch_page, keyset_page
from services.shapes import select_list

# A meeting as the API shows it (MeetingOut, in its order), and its version for the ETag.
_MEETING_COLUMNS = select_list(MeetingOut, version=Meeting.version)


def _select_meetings() -> Select[Any]:
    return select(*_MEETING_COLUMNS)


async def get_meeting_row(
    conn: AsyncConnection | AsyncSession, meeting_id: uuid.UUID, **alongside: Any
) -> dict[str, Any] | None:
    """The meeting as the API shows it; ``alongside``: more values read in the same statement
    (labelled SQL expressions, returned under their names beside the meeting's fields)."""
    query = _select_meetings().add_columns(*(value.label(name) for name, value in alongside.items()))
    row = (await conn.execute(query.where(Meeting.id == meeting_id))).mappings().first()
    return dict(row) if row is not None else None


async def invitee_inputs(session: AsyncSession, meeting_id: uuid.UUID) -> list[dict[str, Any]]:
    """A meeting's invitees as a request lists them (``InviteeIn``: entity_id, name, email), in
    the order they were added."""
    rows = await session.execute(
        select(MeetingInvitee.entity_id, MeetingInvitee.name, MeetingInvitee.email)
        .where(MeetingInvitee.meeting_id == meeting_id)
        .order_by(MeetingInvitee.id)
    )
    return [
        {"entity_id": str(entity_id) if entity_id else None, "name": name, "email": email}
        for entity_id, name, email in rows
    ]


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


# The list's statements are built once for each combination of filters, with bound parameters
# (as the entities' are): SQLAlchemy neither rebuilds them nor computes their cache key again.
@functools.cache
def _meetings_page(given: frozenset[str], after: bool) -> Select[Any]:
    query = _select_meetings()
    if "network_id" in given:
        query = query.where(Meeting.network_id == bindparam("network_id"))
    if "working_group_id" in given:
        query = query.where(Meeting.working_group_id == bindparam("working_group_id"))
    if "meeting_id" in given:
        query = query.where(Meeting.id == bindparam("meeting_id"))
    if "kind" in given:
        query = query.where(Meeting.kind == bindparam("kind"))
    if "status" in given:
        query = query.where(Meeting.status == bindparam("status"))
    if "starts_after" in given:
        query = query.where(Meeting.starts_at >= bindparam("starts_after"))
    if "starts_before" in given:
        query = query.where(Meeting.starts_at < bindparam("starts_before"))
    if "invitee_entity_id" in given:
        query = query.where(
            exists().where(
                MeetingInvitee.meeting_id == Meeting.id, MeetingInvitee.entity_id == bindparam("invitee_entity_id")
            )
        )
    return keyset_page(query, Meeting.id, after=after)


async def list_meeting_rows(conn: AsyncConnection, page: PageRequest, filters: MeetingFilters) -> Page:
    values = vars(filters)  # the filters by name (a frozen dataclass's fields)
    statement = _meetings_page(frozenset(k for k, v in values.items() if v is not None), page.after is not None)
    return await fetch_page(conn, statement, page, **values)


async def all_meeting_rows(
    conn: AsyncConnection, filters: MeetingFilters, *, limit: int = 2000
) -> list[dict[str, Any]]:
    """For calendar feeds: every meeting that matches, soonest first, with its network's
    ``network_country_code`` (for the designation footnote an entry may carry)."""
    query = (
        _filtered(filters)
        .add_columns(Network.country_code.label("network_country_code"))
        .join(Network, Network.id == Meeting.network_id)
    )
    result = await conn.execute(query.order_by(Meeting.starts_at, Meeting.id).limit(limit))
    return [dict(r) for r in result.mappings()]
