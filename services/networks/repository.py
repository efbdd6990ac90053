"""Queries on networks."""

import functools
import uuid
from datetime import date
from typing import Any

from sqlalchemy import Date, Select, bindparam, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.entities.models import Entity
from services.networks.models import Network, NetworkPost, NetworkScope, PostRole
from services.networks.schemas import LEADS_ON, NetworkOut, NetworkPostOut, post_active_on
from services.pagination import Page, PageRequest, fetch_page, keyset_page
from services.shapes import select_list

# A network as the API shows it (NetworkOut, in its order), and its version for the ETag.
_NETWORK_COLUMNS = select_list(NetworkOut, version=Network.version)
_POST_COLUMNS = select_list(NetworkPostOut, version=NetworkPost.version)


def _select_networks() -> Select[Any]:
    return select(*_NETWORK_COLUMNS)


async def get_network_row(conn: AsyncConnection | AsyncSession, network_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_select_networks().where(Network.id == network_id))).mappings().first()
    return dict(row) if row is not None else None


def _holds_post_today(entity_id: Any, role: PostRole) -> Any:
    return exists().where(
        NetworkPost.network_id == Network.id,
        NetworkPost.role == role,
        NetworkPost.entity_id == entity_id,
        post_active_on(LEADS_ON),
    )


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
        query = query.where(_holds_post_today(coordinator_entity_id, PostRole.COORDINATOR))
    if country_code is not None:
        query = query.where(Network.country_code == country_code)
    return query.order_by(Network.id)


# The lists' statements are built once for each combination of filters, with bound parameters
# (as the entities' are): SQLAlchemy neither rebuilds them nor computes their cache key again.
@functools.cache
def _networks_page(filters: frozenset[str], after: bool) -> Select[Any]:
    query = _select_networks()
    if "scope" in filters:
        query = query.where(Network.scope == bindparam("scope"))
    if "parent_network_id" in filters:
        query = query.where(Network.parent_network_id == bindparam("parent_network_id"))
    if "coordinator_entity_id" in filters:
        query = query.where(_holds_post_today(bindparam("coordinator_entity_id"), PostRole.COORDINATOR))
    if "country_code" in filters:
        query = query.where(Network.country_code == bindparam("country_code"))
    return keyset_page(query, Network.id, after=after)


async def list_network_rows(
    conn: AsyncConnection,
    page: PageRequest,
    *,
    scope: NetworkScope | None = None,
    parent_network_id: uuid.UUID | None = None,
    coordinator_entity_id: uuid.UUID | None = None,
    country_code: str | None = None,
) -> Page:
    filters = {
        "scope": scope,
        "parent_network_id": parent_network_id,
        "coordinator_entity_id": coordinator_entity_id,
        "country_code": country_code,
    }
    statement = _networks_page(frozenset(k for k, v in filters.items() if v is not None), page.after is not None)
    return await fetch_page(conn, statement, page, **filters)


async def network_exists(conn: AsyncConnection, network_id: uuid.UUID) -> bool:
    return (await conn.scalar(select(Network.id).where(Network.id == network_id))) is not None


def _select_posts() -> Select[Any]:
    return select(*_POST_COLUMNS).join(Entity, Entity.id == NetworkPost.entity_id)


async def get_post_row(conn: AsyncConnection | AsyncSession, post_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_select_posts().where(NetworkPost.id == post_id))).mappings().first()
    return dict(row) if row is not None else None


def posts_query(*, network_id: uuid.UUID, role: PostRole | None = None, as_of: date | None = None) -> Select[Any]:
    """A network's posts matching the list's filters, in id order: the list pages it, an export streams it."""
    query = _select_posts().where(NetworkPost.network_id == network_id)
    if role is not None:
        query = query.where(NetworkPost.role == role)
    if as_of is not None:
        query = query.where(post_active_on(as_of))
    return query.order_by(NetworkPost.id)


@functools.cache
def _posts_page(role: bool, as_of: bool, after: bool) -> Select[Any]:
    query = _select_posts().where(NetworkPost.network_id == bindparam("network_id"))
    if role:
        query = query.where(NetworkPost.role == bindparam("role"))
    if as_of:
        query = query.where(post_active_on(bindparam("as_of", type_=Date)))
    return keyset_page(query, NetworkPost.id, after=after)


async def list_post_rows(
    conn: AsyncConnection,
    page: PageRequest,
    *,
    network_id: uuid.UUID,
    role: PostRole | None = None,
    as_of: date | None = None,
) -> Page:
    statement = _posts_page(role is not None, as_of is not None, page.after is not None)
    return await fetch_page(conn, statement, page, network_id=network_id, role=role, as_of=as_of)


async def leads_on(
    conn: AsyncConnection | AsyncSession, *, network_id: uuid.UUID, day: date, role: PostRole | None = None
) -> set[uuid.UUID]:
    """The entities holding one of the network's posts (of ``role``, or either) on ``day``."""
    query = select(NetworkPost.entity_id).where(NetworkPost.network_id == network_id, post_active_on(day))
    if role is not None:
        query = query.where(NetworkPost.role == role)
    return set((await conn.scalars(query)).all())


async def posts_of_role(session: AsyncSession, *, network_id: uuid.UUID, role: PostRole) -> list[NetworkPost]:
    """The network's posts of ``role``, locked, in start order (the network row is locked first)."""
    query = (
        select(NetworkPost)
        .where(NetworkPost.network_id == network_id, NetworkPost.role == role)
        .order_by(NetworkPost.start_date, NetworkPost.id)
        .with_for_update()
    )
    return list((await session.scalars(query)).all())


def overlaps(post: NetworkPost, start: date, end: date | None) -> bool:
    """Whether ``post`` runs on some day of ``start``..``end`` (``end`` None: open-ended)."""
    return (end is None or post.start_date <= end) and (post.end_date is None or post.end_date >= start)


async def holds_post_after(conn: AsyncConnection | AsyncSession, *, entity_id: uuid.UUID, day: date) -> bool:
    """Whether the entity holds any network post that runs after ``day``."""
    query = select(
        exists().where(
            NetworkPost.entity_id == entity_id, or_(NetworkPost.end_date.is_(None), NetworkPost.end_date > day)
        )
    )
    return bool(await conn.scalar(query))
