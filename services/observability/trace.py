"""Following one request id from the request to its receipts: the audit entries (the
change), the events it recorded, and every webhook delivery and e-mail those caused, with
their outcomes."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.audit.models import AuditEntry
from services.delivery.replay import email_rows_where
from services.events.models import Event
from services.mail.models import EmailDelivery
from services.webhooks.models import WebhookDelivery
from services.webhooks.repository import delivery_rows_where


async def trace_request(conn: AsyncConnection, request_id: str) -> dict[str, Any]:
    """Everything one ``X-Request-ID`` caused, oldest first; empty lists when it caused nothing."""
    audit = await conn.execute(
        select(
            AuditEntry.id,
            AuditEntry.occurred_at,
            AuditEntry.principal_id,
            AuditEntry.action,
            AuditEntry.resource_type,
            AuditEntry.resource_id,
        )
        .where(AuditEntry.request_id == request_id)
        .order_by(AuditEntry.id)
    )
    events = [
        dict(row)
        for row in (
            await conn.execute(
                select(
                    Event.id,
                    Event.position,
                    Event.type,
                    Event.subject_type,
                    Event.subject_id,
                    Event.actor,
                    Event.occurred_at,
                    Event.published_at,
                )
                .where(Event.request_id == request_id)
                .order_by(Event.position)
            )
        ).mappings()
    ]
    event_ids = [event["id"] for event in events]
    webhooks = await delivery_rows_where(conn, WebhookDelivery.event_id.in_(event_ids)) if event_ids else []
    emails = await email_rows_where(conn, EmailDelivery.event_id.in_(event_ids)) if event_ids else []
    return {
        "request_id": request_id,
        "audit": [dict(row) for row in audit.mappings()],
        "events": events,
        "webhook_deliveries": webhooks,
        "email_deliveries": emails,
    }
