"""What a webhook is: fanning events out into deliveries (one per endpoint that wants each),
and a delivery's body and Standard Webhooks signature. Sending them is the delivery engine's
(``services/delivery/``, its webhook transport)."""

import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import String, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from services.events.models import Event
from services.events.privacy import redact_payload
from services.events.visibility import owner_of
from services.ids import uuid7
from services.webhooks.models import WebhookDelivery, WebhookEndpoint
from services.webhooks.repository import endpoints_wanting, may_see, wants
from services.webhooks.secrets import signing_secrets

MAX_BODY_BYTES = 20_000


async def fan_out(
    session: AsyncSession, events: list[Event], *, queued_until: datetime
) -> list[tuple[uuid.UUID, str | None]]:
    """One delivery per (event, enabled endpoint that wants it and may see it), each with an
    id — its ``webhook-id`` — of its own, marked queued until ``queued_until`` (its message
    is sent once the transaction commits: the relay's marking needs no transaction of its
    own). Returns the new ones, with their request ids.

    The ids are made here, row by row: a default evaluated once for an INSERT … SELECT would
    give every endpoint the same id. A delivery that already exists is a defect and raises."""
    rows: list[dict[str, Any]] = []
    owners = [owner_of(event.subject_type, event.subject_id, event.payload) for event in events]
    # Events of one type (and owner) go to the same endpoints: public events' in one query
    # for all their types; a private event's owner (a key, an endpoint) in one query each.
    public = await endpoints_wanting(
        session, {e.type for e, owner in zip(events, owners, strict=True) if owner is None}
    )
    wanting: dict[tuple[str, Any], list[uuid.UUID]] = {(t, None): ids for t, ids in public.items()}
    for event, owner in zip(events, owners, strict=True):
        key = (event.type, owner)
        if key not in wanting:
            query = select(WebhookEndpoint.id).where(
                WebhookEndpoint.enabled.is_(True), wants(literal(event.type, String))
            )
            if owner is not None:  # keys and endpoints: the secretariat's and their owners' business
                query = query.where(may_see(owner))
            wanting[key] = list(await session.scalars(query.order_by(WebhookEndpoint.id)))
        for endpoint_id in wanting[key]:
            rows.append(
                {
                    "id": uuid7(),
                    "event_id": event.id,
                    "endpoint_id": endpoint_id,
                    "request_id": event.request_id,
                    "network_id": event.network_id,
                    "queued_until": queued_until,
                    "queued_count": 1,
                }
            )
    if rows:
        # NULLs rendered, not left out: every row has the same columns, so one statement
        # inserts them all (rows without a network or a request id would split the batch).
        await session.execute(insert(WebhookDelivery).execution_options(render_nulls=True), rows)
    return [(row["id"], row["request_id"]) for row in rows]


def body_for(event: Event, *, for_admin: bool = False) -> bytes:
    """``{type, timestamp, data}`` under 20 kB; a larger record is sent as a reference.
    Only an admin's endpoint receives external invitees' e-mail addresses."""
    body = {
        "type": event.type,
        "timestamp": event.occurred_at,
        "data": event.payload if for_admin else redact_payload(event.payload),
    }
    encoded = orjson.dumps(body, default=str)
    if len(encoded) > MAX_BODY_BYTES:
        body["data"] = {
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "truncated": True,
            "event_id": event.id,
        }
        encoded = orjson.dumps(body, default=str)
    return encoded


def signature_header(endpoint: WebhookEndpoint, msg_id: str, timestamp: datetime, body: bytes) -> str:
    text = body.decode()
    return " ".join(Webhook(secret).sign(msg_id, timestamp, text) for secret in signing_secrets(endpoint))
