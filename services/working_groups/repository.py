"""Queries on working groups and their posts."""

import functools
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, Select, Uuid, and_, bindparam, column, exists, func, or_, select, table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.entities.models import Entity
from services.networks.models import Network, PostRole
from services.networks.schemas import LeadEntity, lead_post
from services.pagination import Page, PageRequest, fetch_page, keyset_page
from services.shapes import select_list
from services.working_groups.models import (
    PostKind,
    WorkingGroup,
    WorkingGroupObjective,
    WorkingGroupPost,
    WorkingGroupStatus,
)
from services.working_groups.schemas import CHAIRS_ON, PostOut, Secretariat, WorkingGroupOut
from services.working_groups.schemas import post_active_on as post_active_on  # the service reads it here

# Each as the API shows it (its *Out model, in its order), and a group's version for the ETag.
_GROUP_COLUMNS = select_list(WorkingGroupOut, version=WorkingGroup.version)
_POST_COLUMNS = select_list(PostOut)
_SELECT_GROUPS = (
    select(*_GROUP_COLUMNS)
    .join(Network, Network.id == WorkingGroup.network_id)
    .join(
        Secretariat,
        Secretariat.id
        == func.coalesce(
            WorkingGroup.secretariat_entity_id,
            lead_post(PostRole.SECRETARIAT, LeadEntity.id, network_id=WorkingGroup.network_id, day=CHAIRS_ON),
        ),
    )
)


async def get_group_row(
    conn: AsyncConnection | AsyncSession, group_id: uuid.UUID, *, today: date
) -> dict[str, Any] | None:
    query = _SELECT_GROUPS.where(WorkingGroup.id == group_id)
    row = (await conn.execute(query, {CHAIRS_ON.key: today})).mappings().first()
    return dict(row) if row is not None else None


@dataclass(frozen=True)
class GroupFilters:
    network_id: uuid.UUID | None = None
    status: WorkingGroupStatus | None = None
    objective: int | None = None
    chair_entity_id: uuid.UUID | None = None
    member_entity_id: uuid.UUID | None = None


def _holds_post(kind: PostKind, entity_id: Any, today: Any) -> Any:
    return exists().where(
        WorkingGroupPost.working_group_id == WorkingGroup.id,
        WorkingGroupPost.kind == kind,
        WorkingGroupPost.entity_id == entity_id,
        post_active_on(today),
    )


def groups_query(filters: GroupFilters, *, today: date) -> Select[Any]:
    """Working groups matching the list's filters, in id order (their chairs those of ``today``):
    the list pages it, an export streams it."""
    return _filtered_groups(filters, today).params({CHAIRS_ON.key: today})


def _filtered_groups(filters: GroupFilters, today: date) -> Select[Any]:
    query = _SELECT_GROUPS
    if filters.network_id is not None:
        query = query.where(WorkingGroup.network_id == filters.network_id)
    if filters.status is not None:
        query = query.where(WorkingGroup.status == filters.status)
    if filters.objective is not None:
        query = query.where(
            exists().where(
                WorkingGroupObjective.working_group_id == WorkingGroup.id,
                WorkingGroupObjective.objective_number == filters.objective,
            )
        )
    if filters.chair_entity_id is not None:
        query = query.where(_holds_post(PostKind.CHAIR, filters.chair_entity_id, today))
    if filters.member_entity_id is not None:
        query = query.where(_holds_post(PostKind.MEMBER, filters.member_entity_id, today))
    return query.order_by(WorkingGroup.id)


# The lists' statements are built once for each combination of filters, with bound parameters
# (as the entities' are): SQLAlchemy neither rebuilds them nor computes their cache key again.
@functools.cache
def _groups_page(filters: frozenset[str], after: bool) -> Select[Any]:
    query = _SELECT_GROUPS
    if "network_id" in filters:
        query = query.where(WorkingGroup.network_id == bindparam("network_id"))
    if "status" in filters:
        query = query.where(WorkingGroup.status == bindparam("status"))
    if "objective" in filters:
        query = query.where(
            exists().where(
                WorkingGroupObjective.working_group_id == WorkingGroup.id,
                WorkingGroupObjective.objective_number == bindparam("objective"),
            )
        )
    if "chair_entity_id" in filters:
        query = query.where(_holds_post(PostKind.CHAIR, bindparam("chair_entity_id"), CHAIRS_ON))
    if "member_entity_id" in filters:
        query = query.where(_holds_post(PostKind.MEMBER, bindparam("member_entity_id"), CHAIRS_ON))
    return keyset_page(query, WorkingGroup.id, after=after)


async def list_group_rows(conn: AsyncConnection, page: PageRequest, filters: GroupFilters, *, today: date) -> Page:
    values = {
        "network_id": filters.network_id,
        "status": filters.status,
        "objective": filters.objective,
        "chair_entity_id": filters.chair_entity_id,
        "member_entity_id": filters.member_entity_id,
    }
    given = frozenset(name for name, value in values.items() if value is not None)
    statement = _groups_page(given, page.after is not None)
    return await fetch_page(conn, statement, page, **values, **{CHAIRS_ON.key: today})


def _select_posts() -> Select[Any]:
    return select(*_POST_COLUMNS).join(Entity, Entity.id == WorkingGroupPost.entity_id)


async def get_post_row(conn: AsyncConnection | AsyncSession, post_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_select_posts().where(WorkingGroupPost.id == post_id))).mappings().first()
    return dict(row) if row is not None else None


def posts_query(*, group_id: uuid.UUID, kind: PostKind, as_of: date | None) -> Select[Any]:
    """Posts matching the list's filters, in id order: the list pages it, an export streams it."""
    query = _select_posts().where(WorkingGroupPost.working_group_id == group_id, WorkingGroupPost.kind == kind)
    if as_of is not None:
        query = query.where(post_active_on(as_of))
    return query.order_by(WorkingGroupPost.id)


# The posts list's statements are built once for each combination of filters, with bound
# parameters (as the entities' are): SQLAlchemy neither rebuilds them nor computes their cache key again.
@functools.cache
def _posts_page(as_of: bool, after: bool) -> Select[Any]:
    query = _select_posts().where(
        WorkingGroupPost.working_group_id == bindparam("group_id"), WorkingGroupPost.kind == bindparam("kind")
    )
    if as_of:
        query = query.where(post_active_on(bindparam("as_of", type_=Date)))
    return keyset_page(query, WorkingGroupPost.id, after=after)


async def list_post_rows(
    conn: AsyncConnection, page: PageRequest, *, group_id: uuid.UUID, kind: PostKind, as_of: date | None
) -> Page:
    statement = _posts_page(as_of is not None, page.after is not None)
    return await fetch_page(conn, statement, page, group_id=group_id, kind=kind, as_of=as_of)


async def group_exists(conn: AsyncConnection, group_id: uuid.UUID) -> bool:
    return (await conn.scalar(select(WorkingGroup.id).where(WorkingGroup.id == group_id))) is not None


async def overlapping_post(
    session: AsyncSession, *, group_id: uuid.UUID, kind: PostKind, entity_id: uuid.UUID, start_date: date
) -> WorkingGroupPost | None:
    """A post of the same kind held by the entity in the group that is open or ends on/after ``start_date``."""
    query = select(WorkingGroupPost).where(
        WorkingGroupPost.working_group_id == group_id,
        WorkingGroupPost.kind == kind,
        WorkingGroupPost.entity_id == entity_id,
        or_(WorkingGroupPost.end_date.is_(None), WorkingGroupPost.end_date >= start_date),
    )
    return (await session.scalars(query.limit(1))).first()


async def chair_entities_on(conn: AsyncConnection | AsyncSession, *, group_id: uuid.UUID, day: date) -> set[uuid.UUID]:
    """The entities holding one of the group's chair posts on ``day``."""
    query = select(WorkingGroupPost.entity_id).where(
        WorkingGroupPost.working_group_id == group_id, WorkingGroupPost.kind == PostKind.CHAIR, post_active_on(day)
    )
    return set((await conn.scalars(query)).all())


async def has_open_ended_chair(
    session: AsyncSession, *, group_id: uuid.UUID, excluding: uuid.UUID | None = None
) -> bool:
    """Whether the group keeps a chair whose post has no end, other than ``excluding``.

    A post's period is ``daterange(start_date, end_date, '[]')``, which PostgreSQL keeps
    half-open as ``[start_date, end_date + 1)``: a post ending on day D chairs D and no
    later day, so only an upper-unbounded range keeps an active group chaired for good.
    The caller holds the group's row lock, so two posts cannot both pass this check.
    """
    period = func.daterange(WorkingGroupPost.start_date, WorkingGroupPost.end_date, "[]")
    condition = and_(
        WorkingGroupPost.working_group_id == group_id,
        WorkingGroupPost.kind == PostKind.CHAIR,
        func.upper_inf(period),
    )
    if excluding is not None:
        condition = and_(condition, WorkingGroupPost.id != excluding)
    return bool(await session.scalar(select(exists().where(condition))))


async def open_posts_of_entity_in_network(
    session: AsyncSession, *, network_id: uuid.UUID, entity_id: uuid.UUID, after: date
) -> list[WorkingGroupPost]:
    """Posts of an entity in the network's groups still open after ``after``."""
    query = (
        select(WorkingGroupPost)
        .join(WorkingGroup, WorkingGroup.id == WorkingGroupPost.working_group_id)
        .where(
            WorkingGroup.network_id == network_id,
            WorkingGroupPost.entity_id == entity_id,
            or_(WorkingGroupPost.end_date.is_(None), WorkingGroupPost.end_date > after),
        )
        .with_for_update(of=WorkingGroupPost)
    )
    return list((await session.scalars(query)).all())


# Read by name: meetings sit above working groups (a meeting may be a group's), so this
# package imports nothing of theirs.
_MEETINGS = table("meetings", column("id", Uuid), column("network_id", Uuid))


async def meeting_network(session: AsyncSession, meeting_id: uuid.UUID) -> uuid.UUID | None:
    """The network whose meeting this is (None if no meeting has this id)."""
    network_id: uuid.UUID | None = await session.scalar(
        select(_MEETINGS.c.network_id).where(_MEETINGS.c.id == meeting_id)
    )
    return network_id
