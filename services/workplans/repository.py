"""Queries on workplans and their activities."""

import functools
import uuid
from datetime import date
from typing import Any

from sqlalchemy import Select, SmallInteger, any_, bindparam, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.entities.models import Entity
from services.pagination import Page, PageRequest, fetch_page, keyset_page
from services.shapes import select_list
from services.working_groups.models import WorkingGroup
from services.workplans.models import Activity, ActivityStatus, Workplan
from services.workplans.schemas import ActivityOut, WorkplanOut

_SELECT_WORKPLANS = select(*select_list(WorkplanOut, version=Workplan.version))
_SELECT_ACTIVITIES = select(*select_list(ActivityOut, version=Activity.version))


async def get_workplan_row(conn: AsyncConnection | AsyncSession, workplan_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_SELECT_WORKPLANS.where(Workplan.id == workplan_id))).mappings().first()
    return dict(row) if row is not None else None


def workplans_query(*, network_id: uuid.UUID | None) -> Select[Any]:
    """Workplans (of one network, if given), in id order: the list pages it, an export streams it."""
    query = _SELECT_WORKPLANS
    if network_id is not None:
        query = query.where(Workplan.network_id == network_id)
    return query.order_by(Workplan.id)


# The lists' statements are built once for each combination of filters, with bound parameters
# (as the entities' are): SQLAlchemy neither rebuilds them nor computes their cache key again.
@functools.cache
def _workplans_page(by_network: bool, after: bool) -> Select[Any]:
    query = _SELECT_WORKPLANS
    if by_network:
        query = query.where(Workplan.network_id == bindparam("network_id"))
    return keyset_page(query, Workplan.id, after=after)


async def list_workplan_rows(conn: AsyncConnection, page: PageRequest, *, network_id: uuid.UUID | None) -> Page:
    statement = _workplans_page(network_id is not None, page.after is not None)
    return await fetch_page(conn, statement, page, network_id=network_id)


async def get_activity_row(conn: AsyncConnection | AsyncSession, activity_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_SELECT_ACTIVITIES.where(Activity.id == activity_id))).mappings().first()
    return dict(row) if row is not None else None


async def get_activity_rows(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """Several activities as the API shows them, in one statement."""
    rows = (await session.execute(_SELECT_ACTIVITIES.where(Activity.id.in_(ids)))).mappings()
    return {row["id"]: dict(row) for row in rows}


def activities_query(
    *, workplan_id: uuid.UUID | None, status: ActivityStatus | None = None, objective: int | None = None
) -> Select[Any]:
    """Activities (of one workplan, if given) matching the filters, in id order."""
    query = _SELECT_ACTIVITIES
    if workplan_id is not None:
        query = query.where(Activity.workplan_id == workplan_id)
    if status is not None:
        query = query.where(Activity.status == status)
    if objective is not None:
        query = query.where(literal(objective, SmallInteger()) == any_(Activity.gcm_objectives))
    return query.order_by(Activity.id)


@functools.cache
def _activities_page(filters: frozenset[str], after: bool) -> Select[Any]:
    query = _SELECT_ACTIVITIES.where(Activity.workplan_id == bindparam("workplan_id"))
    if "status" in filters:
        query = query.where(Activity.status == bindparam("status"))
    if "objective" in filters:
        query = query.where(bindparam("objective", type_=SmallInteger()) == any_(Activity.gcm_objectives))
    return keyset_page(query, Activity.id, after=after)


async def list_activity_rows(
    conn: AsyncConnection,
    page: PageRequest,
    *,
    workplan_id: uuid.UUID,
    status: ActivityStatus | None,
    objective: int | None,
) -> Page:
    given = frozenset(name for name, value in (("status", status), ("objective", objective)) if value is not None)
    statement = _activities_page(given, page.after is not None)
    return await fetch_page(conn, statement, page, workplan_id=workplan_id, status=status, objective=objective)


async def overdue_activities(session: AsyncSession, *, today: date) -> list[tuple[Activity, uuid.UUID]]:
    """Activities not completed whose end date has passed and whose overdue event was not
    raised for that end date, locked (others' locks skipped), with their network."""
    query = (
        select(Activity, Workplan.network_id)
        .join(Workplan, Workplan.id == Activity.workplan_id)
        .where(
            Activity.status != ActivityStatus.COMPLETED,
            Activity.end_date < today,
            Activity.overdue_reported_for.is_distinct_from(Activity.end_date),
        )
        .order_by(Activity.id)
        .with_for_update(of=Activity, skip_locked=True)
    )
    return [(activity, network_id) for activity, network_id in (await session.execute(query)).all()]


async def overdue_exists(conn: AsyncConnection, *, today: date) -> bool:
    query = select(Activity.id).where(
        Activity.status != ActivityStatus.COMPLETED,
        Activity.end_date < today,
        Activity.overdue_reported_for.is_distinct_from(Activity.end_date),
    )
    return (await conn.scalar(query.limit(1))) is not None


async def working_group_network(session: AsyncSession, group_id: uuid.UUID) -> uuid.UUID | None:
    """The network of the working group (None if no group has this id)."""
    network_id: uuid.UUID | None = await session.scalar(
        select(WorkingGroup.network_id).where(WorkingGroup.id == group_id)
    )
    return network_id


async def unknown_entities(session: AsyncSession, ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Those of ``ids`` that name no entity, in their order."""
    known = set((await session.scalars(select(Entity.id).where(Entity.id.in_(ids)))).all())
    return [each for each in ids if each not in known]
