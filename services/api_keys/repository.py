"""Queries on API keys."""

import functools
import uuid
from typing import Any

from sqlalchemy import Select, bindparam, false, or_, select, text, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.api_keys.models import ApiKey
from services.api_keys.schemas import ApiKeyOut
from services.pagination import Page, PageRequest, fetch_page, keyset_page
from services.principals import Principal
from services.shapes import select_list

# A key as the API shows it (ApiKeyOut, in its order), and its version for the ETag.
KEY_COLUMNS = select_list(ApiKeyOut, version=ApiKey.version)


def visible_to(actor: Principal) -> Any:
    """The keys a caller may see: all for an admin; otherwise its own key and its entity's."""
    if actor.is_admin:
        return True
    conditions = []
    if actor.api_key_id is not None:
        conditions.append(ApiKey.id == actor.api_key_id)
    if actor.entity_id is not None:
        conditions.append(ApiKey.entity_id == actor.entity_id)
    return or_(*conditions) if conditions else False


def _select() -> Select[Any]:
    return select(*KEY_COLUMNS)


async def get_key_row(conn: AsyncConnection | AsyncSession, key_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_select().where(ApiKey.id == key_id))).mappings().first()
    return dict(row) if row is not None else None


async def get_visible_key_row(conn: AsyncConnection, key_id: uuid.UUID, actor: Principal) -> dict[str, Any] | None:
    row = (await conn.execute(_select().where(ApiKey.id == key_id, visible_to(actor)))).mappings().first()
    return dict(row) if row is not None else None


def keys_query(actor: Principal, *, include_revoked: bool) -> Select[Any]:
    """API keys matching the list's filters, in id order: the list pages it, an export streams it."""
    query = _select().where(visible_to(actor))
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return query.order_by(ApiKey.id)


# The list's statements are built once for each kind of caller (an admin; or whether it has a
# key and an entity, bound) and filter, with bound parameters (as the entities' are):
# SQLAlchemy neither rebuilds them nor computes their cache key again.
@functools.cache
def _keys_page(admin: bool, own_key: bool, own_entity: bool, include_revoked: bool, after: bool) -> Select[Any]:
    if admin:
        visible: Any = true()
    else:
        conditions = []
        if own_key:
            conditions.append(ApiKey.id == bindparam("actor_key_id"))
        if own_entity:
            conditions.append(ApiKey.entity_id == bindparam("actor_entity_id"))
        visible = or_(*conditions) if conditions else false()
    query = _select().where(visible)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return keyset_page(query, ApiKey.id, after=after)


async def list_key_rows(conn: AsyncConnection, page: PageRequest, actor: Principal, *, include_revoked: bool) -> Page:
    admin = actor.is_admin
    key_id = None if admin else actor.api_key_id
    entity_id = None if admin else actor.entity_id
    statement = _keys_page(admin, key_id is not None, entity_id is not None, include_revoked, page.after is not None)
    return await fetch_page(conn, statement, page, actor_key_id=key_id, actor_entity_id=entity_id)


async def find_key_for_authentication(conn: AsyncConnection, key_hash: str) -> dict[str, Any] | None:
    """The key with this hash, whatever its state (the caller checks expiry and revocation)."""
    query = select(
        ApiKey.id, ApiKey.role, ApiKey.entity_id, ApiKey.person_id, ApiKey.expires_at, ApiKey.revoked_at
    ).where(ApiKey.key_hash == key_hash)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def touch_last_used(conn: AsyncConnection, key_id: uuid.UUID) -> None:
    """Record a use, at most once a minute per key (keeps reads from becoming writes)."""
    await conn.execute(
        text(
            "UPDATE api_keys SET last_used_at = now() WHERE id = :id "
            "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"
        ),
        {"id": key_id},
    )
