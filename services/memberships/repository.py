"""Queries on memberships."""

import functools
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Date,
    Select,
    String,
    Table,
    Uuid,
    bindparam,
    column,
    exists,
    func,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.entities.models import Entity
from services.memberships.models import Membership, MembershipTier
from services.memberships.schemas import MembershipOut
from services.pagination import Page, PageRequest, fetch_page, keyset_page
from services.shapes import select_list

# A membership as the API shows it (MembershipOut, in its order), and its version.
_MEMBERSHIP_COLUMNS_WITH_ENTITY = select_list(MembershipOut, version=Membership.version)
# What the insert returns: those of the membership's own, and the entity to join.
_MEMBERSHIP_COLUMNS = (*(c for c in _MEMBERSHIP_COLUMNS_WITH_ENTITY if c.key != "entity"), Membership.entity_id)


def _select_memberships() -> Select[Any]:
    return select(*_MEMBERSHIP_COLUMNS_WITH_ENTITY).join(Entity, Entity.id == Membership.entity_id)


@dataclass(frozen=True)
class PeriodFilter:
    """Memberships that cover ``day`` (``active``), or that do not."""

    day: date
    active: bool = True


def active_on(day: Any) -> Any:
    """The condition "this membership covers ``day``" (a date, or a bound parameter of one)."""
    return (Membership.start_date <= day) & or_(Membership.end_date.is_(None), Membership.end_date >= day)


async def get_membership_row(conn: AsyncConnection | AsyncSession, membership_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_select_memberships().where(Membership.id == membership_id))).mappings().first()
    return dict(row) if row is not None else None


def memberships_query(
    *,
    network_id: uuid.UUID | None = None,
    entity_id: uuid.UUID | None = None,
    tier: MembershipTier | None = None,
    period: PeriodFilter | None = None,
) -> Select[Any]:
    """Memberships matching the list's filters, in id order: the list pages it, an export streams it."""
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
    return query.order_by(Membership.id)


# The list's statements are built once for each combination of filters, with bound parameters
# (as the entities' are): SQLAlchemy neither rebuilds them nor computes their cache key again.
@functools.cache
def _memberships_page(network: bool, entity: bool, tier: bool, active: bool | None, after: bool) -> Select[Any]:
    query = _select_memberships()
    if network:
        query = query.where(Membership.network_id == bindparam("network_id"))
    if entity:
        query = query.where(Membership.entity_id == bindparam("entity_id"))
    if tier:
        query = query.where(Membership.tier == bindparam("tier"))
    if active is not None:
        condition = active_on(bindparam("day", type_=Date))
        query = query.where(condition if active else ~condition)
    return keyset_page(query, Membership.id, after=after)


async def list_membership_rows(
    conn: AsyncConnection,
    page: PageRequest,
    *,
    network_id: uuid.UUID | None = None,
    entity_id: uuid.UUID | None = None,
    tier: MembershipTier | None = None,
    period: PeriodFilter | None = None,
) -> Page:
    statement = _memberships_page(
        network_id is not None,
        entity_id is not None,
        tier is not None,
        None if period is None else period.active,
        page.after is not None,
    )
    day = None if period is None else period.day
    return await fetch_page(conn, statement, page, network_id=network_id, entity_id=entity_id, tier=tier, day=day)


def _pair_lock_key(network_id: uuid.UUID, entity_id: uuid.UUID) -> str:
    return f"membership:{network_id}:{entity_id}"


# What admitting an entity to a network reads first, in one round trip and one row whatever
# exists: whether the network exists, the entity, and the pair's lock (see lock_pair), taken
# so that the insert, a statement of its own, sees every period committed before it.
_ADMISSION = text(
    "SELECT EXISTS (SELECT FROM networks WHERE id = CAST(:network_id AS uuid)) AS network_found,"
    " e.acronym, e.kind, e.un_system, pg_advisory_xact_lock(hashtextextended(:lock_key, 0)) AS locked"
    " FROM (SELECT) AS one LEFT JOIN entities AS e ON e.id = CAST(:entity_id AS uuid)"
).columns(
    network_found=Boolean,
    acronym=Entity.acronym.type,
    kind=Entity.kind.type,
    un_system=Boolean,
)


# Read by name, as _ADMISSION reads it: networks sit above memberships (a network's
# creation admits its coordinator), so this package imports nothing of theirs.
_NETWORK_POSTS = table(
    "network_posts",
    column("network_id", Uuid),
    column("entity_id", Uuid),
    column("role", String),
    column("start_date", Date),
    column("end_date", Date),
)


async def post_running_after(
    session: AsyncSession, *, network_id: uuid.UUID, entity_id: uuid.UUID, day: date
) -> tuple[str, date | None] | None:
    """A coordinator or secretariat post the entity holds in the network that runs after
    ``day`` (its role and end date), or None: its holder must stay a core member until then."""
    posts = _NETWORK_POSTS.c
    query = (
        select(posts.role, posts.end_date)
        .where(
            posts.network_id == network_id,
            posts.entity_id == entity_id,
            or_(posts.end_date.is_(None), posts.end_date > day),
        )
        .order_by(posts.end_date.desc().nulls_first())
        .limit(1)
    )
    row = (await session.execute(query)).first()
    return (str(row[0]), row[1]) if row is not None else None


@dataclass(frozen=True)
class Admission:
    network_found: bool
    entity: RowMapping | None  # acronym, kind, un_system


async def admit(session: AsyncSession, network_id: uuid.UUID, entity_id: uuid.UUID) -> Admission:
    """Whether the network exists, and the entity (acronym, kind, un_system) if it does; the
    (network, entity) pair is locked until the transaction ends either way."""
    connection = await session.connection()
    params = {"network_id": network_id, "entity_id": entity_id, "lock_key": _pair_lock_key(network_id, entity_id)}
    row = (await connection.execute(_ADMISSION, params)).mappings().one()
    return Admission(bool(row["network_found"]), row if row["acronym"] is not None else None)


_NEW_MEMBERSHIP_FIELDS = (
    "id",
    "network_id",
    "entity_id",
    "tier",
    "start_date",
    "end_date",
    "mandate_relevance",
    "capacity",
    "notes",
    "is_demo",
)


@functools.cache
def insert_unless_overlapping(open_ended: bool) -> Select[Any]:
    """Insert a membership unless a period of the same pair meets it; the new row as
    get_membership_row reads it (same columns, same order), or no row. Values: id,
    network_id, entity_id, tier, start_date, end_date, mandate_relevance, capacity, notes,
    is_demo. Call :func:`admit` (which takes the pair's lock) first, in the same transaction;
    the service runs it with its event (services.events.service.insert_recording_event)."""
    table = cast(Table, Membership.__table__)
    params = {name: bindparam(name, type_=table.c[name].type) for name in _NEW_MEMBERSHIP_FIELDS}
    overlap = (
        (table.c.network_id == params["network_id"])
        & (table.c.entity_id == params["entity_id"])
        & or_(table.c.end_date.is_(None), table.c.end_date >= params["start_date"])
    )
    if not open_ended:
        overlap = overlap & (table.c.start_date <= params["end_date"])
    new = (
        pg_insert(table)
        .from_select(list(params), select(*params.values()).where(~exists().where(overlap)))
        .returning(*(table.c[c.key] for c in _MEMBERSHIP_COLUMNS))
        .cte("new_membership")
    )
    columns = [column if column.key == "entity" else new.c[column.key] for column in _MEMBERSHIP_COLUMNS_WITH_ENTITY]
    return select(*columns).select_from(new.join(Entity, Entity.id == new.c.entity_id))


async def lock_pair(session: AsyncSession, network_id: uuid.UUID, entity_id: uuid.UUID) -> None:
    """Serialise writers of one (network, entity) history until the transaction ends."""
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(_pair_lock_key(network_id, entity_id), 0)))
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
