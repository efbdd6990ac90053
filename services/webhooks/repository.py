"""Queries on webhook endpoints and deliveries."""

import functools
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, String, and_, bindparam, func, literal, literal_column, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.auth.policy import owned_by, owned_by_bound
from services.delivery_status import DeliveryStatus
from services.events.models import Event
from services.events.visibility import Owner
from services.pagination import Page, PageRequest, fetch_page, keyset_page
from services.principals import Principal
from services.shapes import select_list
from services.webhooks.models import WebhookDelivery, WebhookEndpoint, webhook_id
from services.webhooks.schemas import DeliveryOut, EndpointOut

# An endpoint as the API shows it (EndpointOut, in its order), and its version for the ETag.
ENDPOINT_COLUMNS = select_list(EndpointOut, version=WebhookEndpoint.version)


def visible_to(actor: Principal) -> Any:
    """Admins see every one; others their own and their entity's."""
    return owned_by(actor, WebhookEndpoint.owner_principal_id, WebhookEndpoint.owner_entity_id)


async def get_endpoint_row(conn: AsyncConnection | AsyncSession, endpoint_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(select(*ENDPOINT_COLUMNS).where(WebhookEndpoint.id == endpoint_id))).mappings().first()
    return dict(row) if row is not None else None


async def get_visible_endpoint_row(
    conn: AsyncConnection, endpoint_id: uuid.UUID, actor: Principal
) -> dict[str, Any] | None:
    query = select(*ENDPOINT_COLUMNS).where(WebhookEndpoint.id == endpoint_id, visible_to(actor))
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


def endpoints_query(actor: Principal) -> Select[Any]:
    """Webhook endpoints matching the list's filters, in id order: the list pages it, an export streams it."""
    query: Select[Any] = select(*ENDPOINT_COLUMNS).where(visible_to(actor))
    return query.order_by(WebhookEndpoint.id)


# The lists' statements are built once for each kind of caller and filter, with bound
# parameters (as the entities' are): SQLAlchemy neither rebuilds them nor computes their cache
# key again.
@functools.cache
def _endpoints_page(admin: bool, own_entity: bool, after: bool) -> Select[Any]:
    visible = owned_by_bound(admin, own_entity, WebhookEndpoint.owner_principal_id, WebhookEndpoint.owner_entity_id)
    return keyset_page(select(*ENDPOINT_COLUMNS).where(visible), WebhookEndpoint.id, after=after)


async def list_endpoint_rows(conn: AsyncConnection, page: PageRequest, actor: Principal) -> Page:
    admin = actor.is_admin
    entity_id = None if admin else actor.entity_id
    statement = _endpoints_page(admin, entity_id is not None, page.after is not None)
    return await fetch_page(conn, statement, page, actor_id=None if admin else actor.id, actor_entity_id=entity_id)


# A delivery as the API shows it (DeliveryOut, in its order; with_webhook_id adds webhook_id).
_DELIVERY_COLUMNS = select_list(DeliveryOut)


def _select_deliveries() -> Select[Any]:
    return select(*_DELIVERY_COLUMNS).join(Event, Event.id == WebhookDelivery.event_id)


def deliveries_query(*, endpoint_id: uuid.UUID, status: DeliveryStatus | None) -> Select[Any]:
    """Deliveries matching the list's filters, in id order: the list pages it, an export streams it."""
    query = _select_deliveries().where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    return query.order_by(WebhookDelivery.id)


@functools.cache
def _deliveries_page(status: bool, after: bool) -> Select[Any]:
    query = _select_deliveries().where(WebhookDelivery.endpoint_id == bindparam("endpoint_id"))
    if status:
        query = query.where(WebhookDelivery.status == bindparam("status"))
    return keyset_page(query, WebhookDelivery.id, after=after)


async def list_delivery_rows(
    conn: AsyncConnection, page: PageRequest, *, endpoint_id: uuid.UUID, status: DeliveryStatus | None
) -> Page:
    statement = _deliveries_page(status is not None, page.after is not None)
    listed = await fetch_page(conn, statement, page, endpoint_id=endpoint_id, status=status)
    return Page(items=[with_webhook_id(row) for row in listed.items], next_cursor=listed.next_cursor)


def with_webhook_id(row: dict[str, Any]) -> dict[str, Any]:
    """The ``webhook-id`` every attempt of this delivery carries."""
    return {"id": row["id"], "webhook_id": webhook_id(row["id"]), **row}


async def get_delivery_row(conn: AsyncConnection | AsyncSession, delivery_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_select_deliveries().where(WebhookDelivery.id == delivery_id))).mappings().first()
    return with_webhook_id(dict(row)) if row is not None else None


def may_see(owner: Owner) -> Any:
    """The condition "this endpoint may receive a private event of ``owner``'s": admins' and
    the service's endpoints, the owner's own, and (for an entity's record) its entity's."""
    conditions: list[Any] = [WebhookEndpoint.owner_role.in_(("admin", "system"))]
    if owner.principal_id is not None:
        conditions.append(WebhookEndpoint.owner_principal_id == owner.principal_id)
    if owner.entity_id is not None:
        conditions.append(WebhookEndpoint.owner_entity_id == owner.entity_id)
    return or_(*conditions)


def wants(event_type: Any) -> Any:
    """The condition "this endpoint wants events of ``event_type``" (exact, ``family.*`` or ``*``)."""
    pattern = func.unnest(WebhookEndpoint.event_types).table_valued("pattern").render_derived()
    return (
        select(literal_column("1"))
        .select_from(pattern)
        .where(
            or_(
                pattern.c.pattern == "*",
                pattern.c.pattern == event_type,
                and_(pattern.c.pattern.like("%.*"), event_type.like(func.replace(pattern.c.pattern, "*", "%"))),
            )
        )
        .exists()
    )


async def endpoints_wanting(session: AsyncSession, event_types: Collection[str]) -> dict[str, list[uuid.UUID]]:
    """For each of ``event_types`` (of public events), the enabled endpoints that want it,
    in id order, in one statement whatever the number of types."""
    wanting: dict[str, list[uuid.UUID]] = {event_type: [] for event_type in event_types}
    if not wanting:
        return wanting
    batch = func.unnest(literal(sorted(wanting), ARRAY(String))).table_valued("event_type").render_derived()
    rows = await session.execute(
        select(batch.c.event_type, WebhookEndpoint.id)
        .select_from(WebhookEndpoint)
        .join(batch, true())
        .where(WebhookEndpoint.enabled.is_(True), wants(batch.c.event_type))
        .order_by(WebhookEndpoint.id)
    )
    for event_type, endpoint_id in rows:
        wanting[event_type].append(endpoint_id)
    return wanting


async def delivery_rows_where(conn: AsyncConnection, *conditions: Any, limit: int = 1000) -> list[dict[str, Any]]:
    """Deliveries (with their endpoint's URL, request id and attempt log) that meet
    ``conditions``, oldest first: for an operator's trace and failed-delivery list."""
    query = (
        _select_deliveries()
        .add_columns(WebhookDelivery.endpoint_id, WebhookEndpoint.url.label("endpoint_url"), WebhookDelivery.request_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(*conditions)
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )
    return [with_webhook_id(dict(r)) for r in (await conn.execute(query)).mappings()]
