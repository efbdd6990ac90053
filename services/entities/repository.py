"""Queries on entities. Reads return plain mappings ready to serialise."""

import uuid
from typing import Any

from sqlalchemy import Select, exists, func, literal_column, select, tuple_
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.entities.models import Entity, EntityIdentifier, EntityKind
from services.pagination import Page, PageRequest, page_from_rows

_identifiers = (
    select(
        func.coalesce(
            func.jsonb_agg(
                aggregate_order_by(
                    func.jsonb_build_object("scheme", EntityIdentifier.scheme, "value", EntityIdentifier.value),
                    EntityIdentifier.scheme,
                    EntityIdentifier.value,
                )
            ),
            literal_column("'[]'::jsonb"),
            type_=JSONB,
        )
    )
    .where(EntityIdentifier.entity_id == Entity.id)
    .scalar_subquery()
    .label("identifiers")
)

ENTITY_COLUMNS = (
    Entity.id,
    Entity.acronym,
    Entity.name,
    Entity.kind,
    Entity.un_system,
    Entity.parent_id,
    Entity.office_level,
    Entity.country_code,
    Entity.website,
    Entity.contact_email,
    _identifiers,
    Entity.is_demo,
    Entity.created_at,
    Entity.updated_at,
    Entity.version,
)


def _select_entities() -> Select[Any]:
    return select(*ENTITY_COLUMNS)


async def get_entity_row(conn: AsyncConnection | AsyncSession, entity_id: uuid.UUID) -> dict[str, Any] | None:
    result = await conn.execute(_select_entities().where(Entity.id == entity_id))
    row = result.mappings().first()
    return dict(row) if row is not None else None


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
    query = _select_entities()
    if kind is not None:
        query = query.where(Entity.kind == kind)
    if un_system is not None:
        query = query.where(Entity.un_system.is_(un_system))
    if parent_id is not None:
        query = query.where(Entity.parent_id == parent_id)
    if acronym is not None:
        query = query.where(func.lower(Entity.acronym) == acronym.lower())
    if country_code is not None:
        query = query.where(Entity.country_code == country_code)
    if page.after is not None:
        query = query.where(Entity.id > page.after)
    result = await conn.execute(query.order_by(Entity.id).limit(page.limit + 1))
    return page_from_rows([dict(r) for r in result.mappings()], page.limit)


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
