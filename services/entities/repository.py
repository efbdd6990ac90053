"""Queries on entities. Reads return plain mappings ready to serialise."""

import functools
import uuid
from datetime import date
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    Table,
    Uuid,
    bindparam,
    column,
    exists,
    func,
    insert,
    literal_column,
    select,
    table,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.entities.models import Entity, EntityIdentifier, EntityKind
from services.entities.schemas import EntityOut
from services.pagination import Page, PageRequest, page_from_rows
from services.shapes import select_list

# An entity as the API shows it (EntityOut, in its order), and its version for the ETag.
ENTITY_COLUMNS = select_list(EntityOut, version=Entity.version)


def _select_entities() -> Select[Any]:
    return select(*ENTITY_COLUMNS)


# The read path's statements are built once, with bound parameters: SQLAlchemy then neither
# rebuilds them nor computes their cache key again on each request (both were a fifth of a
# read's CPU).
_ENTITY_BY_ID = _select_entities().where(Entity.id == bindparam("entity_id"))

_LIST_FILTERS: dict[str, ColumnElement[bool]] = {
    "kind": Entity.kind == bindparam("kind"),
    "parent_id": Entity.parent_id == bindparam("parent_id"),
    "acronym": func.lower(Entity.acronym) == bindparam("acronym"),
    "country_code": Entity.country_code == bindparam("country_code"),
    "after": Entity.id > bindparam("after"),
}


def _filter_values(
    kind: EntityKind | None,
    parent_id: uuid.UUID | None,
    acronym: str | None,
    country_code: str | None,
    after: uuid.UUID | None = None,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": kind,
        "parent_id": parent_id,
        "acronym": acronym.lower() if acronym is not None else None,
        "country_code": country_code,
        "after": after,
    }
    return {name: value for name, value in values.items() if value is not None}


@functools.cache
def _filtered(filters: frozenset[str], un_system: bool | None) -> Select[Any]:
    """The entities matching one combination of filters (a handful exist), in id order, built
    on first use."""
    query = _select_entities()
    if un_system is not None:
        query = query.where(Entity.un_system.is_(un_system))
    for name in sorted(filters):
        query = query.where(_LIST_FILTERS[name])
    return query.order_by(Entity.id)


@functools.cache
def _list_statement(filters: frozenset[str], un_system: bool | None) -> Select[Any]:
    return _filtered(filters, un_system).limit(bindparam("limit", type_=Integer))


async def get_entity_row(conn: AsyncConnection | AsyncSession, entity_id: uuid.UUID) -> dict[str, Any] | None:
    result = await conn.execute(_ENTITY_BY_ID, {"entity_id": entity_id})
    row = result.mappings().first()
    return dict(row) if row is not None else None


def entities_query(
    *,
    kind: EntityKind | None = None,
    un_system: bool | None = None,
    parent_id: uuid.UUID | None = None,
    acronym: str | None = None,
    country_code: str | None = None,
) -> Select[Any]:
    """Entities matching the list's filters, in id order: the list pages it, an export streams it."""
    values = _filter_values(kind, parent_id, acronym, country_code)
    return _filtered(frozenset(values), un_system).params(values)


async def list_entity_rows(
    conn: AsyncConnection,
    page: PageRequest,
    *,
    kind: EntityKind | None = None,
    un_system: bool | None = None,
    parent_id: uuid.UUID | None = None,
    acronym: str | None = None,
    country_code: str | None = None,
) -> Page:
    params = _filter_values(kind, parent_id, acronym, country_code, page.after)
    result = await conn.execute(_list_statement(frozenset(params), un_system), {**params, "limit": page.limit + 1})
    return page_from_rows([dict(r) for r in result.mappings()], page.limit)


# A new entity, as the API shows it (the columns and their order of ENTITY_COLUMNS), in the
# insert's own round trip. No identifiers yet: those are added after it. An acronym already
# taken (the unique index on lower(acronym)) inserts nothing and returns no row, also when the
# other entity is being created at the same moment.
_INSERTED_COLUMNS = tuple(
    literal_column("'[]'::jsonb", JSONB).label("identifiers") if column.key == "identifiers" else column
    for column in ENTITY_COLUMNS
)
_NEW_ENTITY_FIELDS = (
    "id",
    "acronym",
    "name",
    "kind",
    "parent_id",
    "office_level",
    "country_code",
    "website",
    "contact_email",
    "is_demo",
)
INSERT_ENTITY = (
    pg_insert(cast(Table, Entity.__table__))
    .values({name: bindparam(name) for name in _NEW_ENTITY_FIELDS})
    .on_conflict_do_nothing()
    .returning(*_INSERTED_COLUMNS)
)
_INSERT_IDENTIFIER = insert(cast(Table, EntityIdentifier.__table__))


async def insert_entity(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any] | None:
    """Insert an entity (``values``: id, acronym, name, kind, parent_id, office_level,
    country_code, website, contact_email, is_demo); its row as :func:`get_entity_row` reads
    it, or ``None`` when the acronym is taken."""
    connection = await session.connection()
    row = (await connection.execute(INSERT_ENTITY, values)).mappings().first()
    return dict(row) if row is not None else None


async def insert_identifiers(session: AsyncSession, entity_id: uuid.UUID, pairs: list[tuple[str, str]]) -> None:
    connection = await session.connection()
    await connection.execute(
        _INSERT_IDENTIFIER, [{"entity_id": entity_id, "scheme": scheme, "value": value} for scheme, value in pairs]
    )


async def acronym_taken(session: AsyncSession, acronym: str, *, other_than: uuid.UUID | None = None) -> bool:
    condition = func.lower(Entity.acronym) == acronym.lower()
    if other_than is not None:
        condition = condition & (Entity.id != other_than)
    return bool(await session.scalar(select(exists().where(condition))))


async def identifier_owners(
    session: AsyncSession, identifiers: list[tuple[str, str]]
) -> dict[tuple[str, str], uuid.UUID]:
    """Which entity already holds each (scheme, value)."""
    if not identifiers:
        return {}
    rows = await session.execute(
        select(EntityIdentifier.scheme, EntityIdentifier.value, EntityIdentifier.entity_id).where(
            tuple_(EntityIdentifier.scheme, EntityIdentifier.value).in_(identifiers)
        )
    )
    return {(r.scheme, r.value): r.entity_id for r in rows}


async def ancestor_ids(session: AsyncSession, entity_id: uuid.UUID) -> list[uuid.UUID]:
    """The chain of parents above an entity, nearest first."""
    chain = select(Entity.id, Entity.parent_id).where(Entity.id == entity_id).cte("chain", recursive=True)
    chain = chain.union(select(Entity.id, Entity.parent_id).join(chain, Entity.id == chain.c.parent_id))
    rows = await session.execute(select(chain.c.id))
    return [r for (r,) in rows if r != entity_id]


async def has_children(session: AsyncSession, entity_id: uuid.UUID) -> bool:
    return bool(await session.scalar(select(exists().where(Entity.parent_id == entity_id))))


# The records of higher domains that refer to an entity, read by table name: every domain
# refers to entities, so this package imports none of theirs.
_MEMBERSHIPS = table("memberships", column("entity_id", Uuid), column("start_date", Date), column("end_date", Date))
_NETWORK_POSTS = table("network_posts", column("entity_id", Uuid))


async def has_current_memberships(session: AsyncSession, entity_id: uuid.UUID, *, today: date) -> bool:
    """Whether the entity is a member of a network on ``today``."""
    m = _MEMBERSHIPS.c
    current = exists().where(
        m.entity_id == entity_id, m.start_date <= today, (m.end_date.is_(None)) | (m.end_date >= today)
    )
    return bool(await session.scalar(select(current)))


async def has_memberships(session: AsyncSession, entity_id: uuid.UUID) -> bool:
    """Whether the entity ever held a membership (past ones are part of the record)."""
    return bool(await session.scalar(select(exists().where(_MEMBERSHIPS.c.entity_id == entity_id))))


async def holds_network_posts(session: AsyncSession, entity_id: uuid.UUID) -> bool:
    """Whether the entity ever held a network's coordinator or secretariat post."""
    return bool(await session.scalar(select(exists().where(_NETWORK_POSTS.c.entity_id == entity_id))))
