"""Queries on champion countries and pledges."""

import functools
import uuid
from datetime import date
from typing import Any

from sqlalchemy import Date, Select, SmallInteger, any_, bindparam, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.commitments.models import ChampionCountry, Pledge, PledgeStatus
from services.commitments.schemas import ChampionCountryOut, PledgeOut, PledgerEntity
from services.pagination import Page, PageRequest, fetch_page, keyset_page
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


# The lists' statements are built once for each combination of filters, with bound parameters
# (as the entities' are): SQLAlchemy neither rebuilds them nor computes their cache key again.
@functools.cache
def _champions_page(as_of: bool, after: bool) -> Select[Any]:
    query = _SELECT_CHAMPIONS.where(ChampionCountry.network_id == bindparam("network_id"))
    if as_of:
        day = bindparam("as_of", type_=Date)
        query = query.where(
            ChampionCountry.start_date <= day, or_(ChampionCountry.end_date.is_(None), ChampionCountry.end_date >= day)
        )
    return keyset_page(query, ChampionCountry.id, after=after)


async def list_champion_rows(
    conn: AsyncConnection, page: PageRequest, *, network_id: uuid.UUID, as_of: date | None
) -> Page:
    statement = _champions_page(as_of is not None, page.after is not None)
    return await fetch_page(conn, statement, page, network_id=network_id, as_of=as_of)


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


@functools.cache
def _pledges_page(filters: frozenset[str], after: bool) -> Select[Any]:
    query = _SELECT_PLEDGES
    if "network_id" in filters:
        query = query.where(Pledge.network_id == bindparam("network_id"))
    if "status" in filters:
        query = query.where(Pledge.status == bindparam("status"))
    if "objective" in filters:
        query = query.where(bindparam("objective", type_=SmallInteger()) == any_(Pledge.gcm_objectives))
    return keyset_page(query, Pledge.id, after=after)


async def list_pledge_rows(
    conn: AsyncConnection,
    page: PageRequest,
    *,
    network_id: uuid.UUID | None,
    status: PledgeStatus | None,
    objective: int | None,
) -> Page:
    filters = {"network_id": network_id, "status": status, "objective": objective}
    statement = _pledges_page(frozenset(k for k, v in filters.items() if v is not None), page.after is not None)
    return await fetch_page(conn, statement, page, **filters)


async def open_pledges_due_by(session: AsyncSession, *, horizon: date) -> list[Pledge]:
    """Open pledges falling due on or before ``horizon``, locked (others' locks skipped)."""
    query = (
        select(Pledge)
        .where(Pledge.status.in_(OPEN), Pledge.due_date <= horizon)
        .order_by(Pledge.id)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())
