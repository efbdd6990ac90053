"""Queries on memberships."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.entities.models import Entity
from services.memberships.models import Membership, MembershipTier
from services.pagination import Page, PageRequest, page_from_rows


def _select_memberships() -> Select[Any]:
    return select(
        Membership.id,
        Membership.network_id,
        func.jsonb_build_object("id", Entity.id, "acronym", Entity.acronym, "name", Entity.name).label("entity"),
        Membership.tier,
        Membership.start_date,
        Membership.end_date,
        Membership.end_reason,
        Membership.mandate_relevance,
        Membership.capacity,
        Membership.notes,
        Membership.previous_membership_id,
        Membership.is_demo,
        Membership.created_at,
        Membership.updated_at,
        Membership.version,
    ).join(Entity, Entity.id == Membership.entity_id)


@dataclass(frozen=True)
class PeriodFilter:
    """Memberships that cover ``day`` (``active``), or that do not."""

    day: date
    active: bool = True


def active_on(day: date) -> Any:
    """The condition "this membership covers ``day``"."""
    return (Membership.start_date <= day) & or_(Membership.end_date.is_(None), Membership.end_date >= day)


async def get_membership_row(conn: AsyncConnection | AsyncSession, membership_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_select_memberships().where(Membership.id == membership_id))).mappings().first()
    return dict(row) if row is not None else None


async def list_membership_rows(
    conn: AsyncConnection,
    page: PageRequest,
    *,
    network_id: uuid.UUID | None = None,
    entity_id: uuid.UUID | None = None,
    tier: MembershipTier | None = None,
    period: PeriodFilter | None = None,
) -> Page:
    query = _select_memberships()
    if network_id is not None:
        query = query.where(Membership.network_id == network_id)
    if entity_id is not None:
        query = query.where(Membership.entity_id == entity_id)
    if tier is not None:
        query = query.where(Membership.tier == tier)
    if period is not None:
        condition = active_on(period.day)
        query = query.where(condition if period.active else ~condition)
    if page.after is not None:
        query = query.where(Membership.id > page.after)
    result = await conn.execute(query.order_by(Membership.id).limit(page.limit + 1))
    return page_from_rows([dict(r) for r in result.mappings()], page.limit)


async def lock_pair(session: AsyncSession, network_id: uuid.UUID, entity_id: uuid.UUID) -> None:
    """Serialise writers of one (network, entity) history until the transaction ends."""
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"membership:{network_id}:{entity_id}", 0)))
    )


async def overlapping_membership(
    session: AsyncSession,
    *,
    network_id: uuid.UUID,
    entity_id: uuid.UUID,
    start_date: date,
    end_date: date | None,
    excluding: uuid.UUID | None = None,
) -> Membership | None:
    """A membership of the same entity in the same network whose period meets this one."""
    query = select(Membership).where(
        Membership.network_id == network_id,
        Membership.entity_id == entity_id,
        or_(Membership.end_date.is_(None), Membership.end_date >= start_date),
    )
    if end_date is not None:
        query = query.where(Membership.start_date <= end_date)
    if excluding is not None:
        query = query.where(Membership.id != excluding)
    return (await session.scalars(query.limit(1))).first()


async def current_core_membership(
    session: AsyncSession, *, network_id: uuid.UUID, entity_id: uuid.UUID, today: date
) -> Membership | None:
    """The entity's open-ended core membership that has started, if any."""
    query = select(Membership).where(
        Membership.network_id == network_id,
        Membership.entity_id == entity_id,
        Membership.tier == MembershipTier.CORE,
        Membership.start_date <= today,
        Membership.end_date.is_(None),
    )
    return (await session.scalars(query)).first()
