"""Queries on networks."""

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.entities.models import Entity
from services.networks.models import Network, NetworkScope
from services.networks.schemas import NetworkOut
from services.pagination import Page, PageRequest, page_from_rows
from services.shapes import select_list

# A network as the API shows it (NetworkOut, in its order), and its version for the ETag.
_NETWORK_COLUMNS = select_list(NetworkOut, version=Network.version)


def _select_networks() -> Select[Any]:
    return select(*_NETWORK_COLUMNS).join(Entity, Entity.id == Network.coordinator_entity_id)


async def get_network_row(conn: AsyncConnection | AsyncSession, network_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_select_networks().where(Network.id == network_id))).mappings().first()
    return dict(row) if row is not None else None


def networks_query(
    *,
    scope: NetworkScope | None = None,
    parent_network_id: uuid.UUID | None = None,
    coordinator_entity_id: uuid.UUID | None = None,
    country_code: str | None = None,
) -> Select[Any]:
    """Networks matching the list's filters, in id order: the list pages it, an export streams it."""
    query = _select_networks()
    if scope is not None:
        query = query.where(Network.scope == scope)
    if parent_network_id is not None:
        query = query.where(Network.parent_network_id == parent_network_id)
    if coordinator_entity_id is not None:
        query = query.where(Network.coordinator_entity_id == coordinator_entity_id)
    if country_code is not None:
        query = query.where(Network.country_code == country_code)
    return query.order_by(Network.id)


async def list_network_rows(
    conn: AsyncConnection,
    page: PageRequest,
    *,
    scope: NetworkScope | None = None,
    parent_network_id: uuid.UUID | None = None,
    coordinator_entity_id: uuid.UUID | None = None,
    country_code: str | None = None,
) -> Page:
    query = networks_query(
        scope=scope,
        parent_network_id=parent_network_id,
        coordinator_entity_id=coordinator_entity_id,
        country_code=country_code,
    )
    if page.after is not None:
        query = query.where(Network.id > page.after)
    result = await conn.execute(query.limit(page.limit + 1))
    return page_from_rows([dict(r) for r in result.mappings()], page.limit)


async def network_exists(conn: AsyncConnection, network_id: uuid.UUID) -> bool:
    return (await conn.scalar(select(Network.id).where(Network.id == network_id))) is not None
