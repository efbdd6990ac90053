"""Queries on champion countries and pledges."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Select, SmallInteger, any_, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.commitments.models import ChampionCountry, Pledge, PledgeStatus
from services.commitments.schemas import ChampionCountryOut, PledgeOut, PledgerEntity
from services.pagination import Page, PageRequest, page_from_rows
from services.shapes import select_list

_SELECT_CHAMPIONS = select(*select_list(ChampionCountryOut, version=ChampionCountry.version))
_SELECT_PLEDGES = select(*select_list(PledgeOut, version=Pledge.version)).outerjoin(
    PledgerEntity, PledgerEntity.id == Pledge.pledger_entity_id
)
OPEN = (PledgeStatus.ANNOUNCED, PledgeStatus.IN_PROGRESS)


async def get_champion_row(conn: AsyncConnection | AsyncSession, champion_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_SELECT_CHAMPIONS.where(ChampionCountry.id == champion_id))).mappings().first()
    return dict(row) if row is not None else None


def champions_query(*, network_id: uuid.UUID, as_of: date | None) -> Select[Any]:
    """A network's champion countries (those of ``as_of``, if given), in id order."""
    query = _SELECT_CHAMPIONS.where(ChampionCountry.network_id == network_id)
    if as_of is not None:
        query = query.where(
            ChampionCountry.start_date <= as_of,
            or_(ChampionCountry.end_date.is_(None), ChampionCountry.end_date >= as_of),
        )
    return query.order_by(ChampionCountry.id)


async def list_champion_rows(
    conn: AsyncConnection, page: PageRequest, *, network_id: uuid.UUID, as_of: date | None
) -> Page:
    query = champions_query(network_id=network_id, as_of=as_of)
    if page.after is not None:
        query = query.where(ChampionCountry.id > page.after)
    result = await conn.execute(query.limit(page.limit + 1))
    return page_from_rows([dict(r) for r in result.mappings()], page.limit)


async def overlapping_champion(
    session: AsyncSession, *, network_id: uuid.UUID, country_code: str, start_date: date, end_date: date | None
) -> ChampionCountry | None:
    """The same country's champion period in the network that overlaps the given one."""
    query = select(ChampionCountry).where(
        ChampionCountry.network_id == network_id,
        ChampionCountry.country_code == country_code,
        or_(ChampionCountry.end_date.is_(None), ChampionCountry.end_date >= start_date),
    )
    if end_date is not None:
        query = query.where(ChampionCountry.start_date <= end_date)
    return (await session.scalars(query.limit(1))).first()


async def get_pledge_row(conn: AsyncConnection | AsyncSession, pledge_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_SELECT_PLEDGES.where(Pledge.id == pledge_id))).mappings().first()
    return dict(row) if row is not None else None


async def get_pledge_rows(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    rows = (await session.execute(_SELECT_PLEDGES.where(Pledge.id.in_(ids)))).mappings()
    return {row["id"]: dict(row) for row in rows}


def pledges_query(
    *, network_id: uuid.UUID | None, status: PledgeStatus | None, objective: int | None = None
) -> Select[Any]:
    """Pledges matching the filters, in id order: the list pages it, an export streams it."""
    query = _SELECT_PLEDGES
    if network_id is not None:
        query = query.where(Pledge.network_id == network_id)
    if status is not None:
        query = query.where(Pledge.status == status)
    if objective is not None:
        query = query.where(literal(objective, SmallInteger()) == any_(Pledge.gcm_objectives))
    return query.order_by(Pledge.id)


async def list_pledge_rows(
    conn: AsyncConnection,
    page: PageRequest,
    *,
    network_id: uuid.UUID | None,
    status: PledgeStatus | None,
    objective: int | None,
) -> Page:
    query = pledges_query(network_id=network_id, status=status, objective=objective)
    if page.after is not None:
        query = query.where(Pledge.id > page.after)
    result = await conn.execute(query.limit(page.limit + 1))
    return page_from_rows([dict(r) for r in result.mappings()], page.limit)


async def open_pledges_due_by(session: AsyncSession, *, horizon: date) -> list[Pledge]:
    """Open pledges falling due on or before ``horizon``, locked (others' locks skipped)."""
    query = (
        select(Pledge)
        .where(Pledge.status.in_(OPEN), Pledge.due_date <= horizon)
        .order_by(Pledge.id)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())
