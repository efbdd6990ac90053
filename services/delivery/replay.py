"""Sending deliveries again, one way for both transports: a failed delivery made pending and
due now (``replay``: under the same id, so a webhook keeps its ``webhook-id``), or a delivery
that waits for a retry made due now (``retry now``, which an endpoint that answers again
does by itself). The scheduler's next sweep hands them to the workers."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import clock
from services.delivery.leases import make_waiting_due
from services.delivery_status import DeliveryStatus
from services.errors import Conflict, NotFound
from services.events.models import Event
from services.mail.models import EmailDelivery
from services.principals import Principal
from services.webhooks.models import WebhookDelivery
from services.webhooks.service import load_endpoint_for_update, record_endpoint_change

EMAIL_COLUMNS = (
    EmailDelivery.id,
    EmailDelivery.event_id,
    Event.type.label("event_type"),
    EmailDelivery.recipient,
    EmailDelivery.kind,
    EmailDelivery.status,
    EmailDelivery.attempts,
    EmailDelivery.next_attempt_at,
    EmailDelivery.last_status_code,
    EmailDelivery.last_error,
    EmailDelivery.sent_at,
    EmailDelivery.created_at,
    EmailDelivery.request_id,
)


async def email_rows_where(conn: AsyncConnection, *conditions: Any, limit: int = 1000) -> list[dict[str, Any]]:
    """E-mail deliveries that meet ``conditions``, oldest first."""
    query = (
        select(*EMAIL_COLUMNS)
        .join(Event, Event.id == EmailDelivery.event_id)
        .where(*conditions)
        .order_by(EmailDelivery.id)
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def _make_failed_due(session: AsyncSession, model: Any, *conditions: Any) -> list[uuid.UUID]:
    """The one replay statement: failed rows meeting ``conditions`` pending and due now."""
    replayed = await session.scalars(
        update(model)
        .where(model.status == DeliveryStatus.FAILED, *conditions)
        .values(status=DeliveryStatus.PENDING, next_attempt_at=clock.now(), lease_until=None)
        .returning(model.id)
    )
    return sorted(replayed.all())


async def replay_emails(session: AsyncSession, *, delivery_ids: list[uuid.UUID] | None = None) -> list[uuid.UUID]:
    """Make failed e-mail deliveries due again now (the given ones, or every failed one).
    Returns the ones made due."""
    conditions = [EmailDelivery.id.in_(delivery_ids)] if delivery_ids is not None else []
    return await _make_failed_due(session, EmailDelivery, *conditions)


async def replay_webhooks(
    session: AsyncSession,
    *,
    endpoint_id: uuid.UUID,
    actor: Principal,
    delivery_id: uuid.UUID | None = None,
    failed_since: datetime | None = None,
) -> list[uuid.UUID]:
    """Send an endpoint's delivery again (same ``webhook-id``; failed or not), or every failed
    one made since a time; recorded as ``webhook_endpoint.replayed``."""
    endpoint = await load_endpoint_for_update(session, endpoint_id, actor)
    if not endpoint.enabled:
        raise Conflict("webhook-endpoint-disabled", "The endpoint is disabled; enable it before replaying.")
    if delivery_id is not None:
        replayed = await _replay_one_webhook(session, endpoint_id, delivery_id)
    else:
        replayed = await _make_failed_due(
            session,
            WebhookDelivery,
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.created_at >= failed_since,
        )
    await record_endpoint_change(
        session, "replayed", endpoint, actor, changes={"replayed_deliveries": (None, [str(i) for i in replayed])}
    )
    return replayed


async def _replay_one_webhook(session: AsyncSession, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> list[uuid.UUID]:
    """One delivery, whatever its status (a receiver that lost what it got asks again)."""
    replayed = await session.scalars(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.id == delivery_id)
        .values(status=DeliveryStatus.PENDING, next_attempt_at=clock.now(), lease_until=None)
        .returning(WebhookDelivery.id)
    )
    found = list(replayed.all())
    if not found:
        raise NotFound("delivery-not-found", f"This endpoint has no delivery {delivery_id}.")
    return found


async def retry_webhooks_now(session: AsyncSession, *, endpoint_id: uuid.UUID, actor: Principal) -> list[uuid.UUID]:
    """An endpoint's deliveries that wait for a retry, due now in order (the operator knows the
    receiver is back before a delivery has told us). 404 for an endpoint the caller may not see."""
    await load_endpoint_for_update(session, endpoint_id, actor)
    return await make_waiting_due(session, WebhookDelivery, WebhookDelivery.endpoint_id == endpoint_id, now=clock.now())


async def retry_emails_now(session: AsyncSession) -> list[uuid.UUID]:
    """Every e-mail that waits for a retry, due now in order (the mail server is back)."""
    return await make_waiting_due(session, EmailDelivery, now=clock.now())
