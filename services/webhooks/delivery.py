"""Fanning events out to endpoints, and sending one delivery: signed, timed, recorded, retried.

A delivery is leased while it is sent (never held in an open transaction across the HTTP
call); a worker killed mid-send lets the lease lapse and the scheduler sends the same
delivery again, under the same ``webhook-id``."""

import logging
import random
import time
import uuid
from datetime import datetime, timedelta

import httpx
import orjson
from sqlalchemy import String, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from services.clock import clock
from services.database import Database
from services.events.models import Event
from services.events.service import record_event
from services.events.visibility import owner_of
from services.ids import uuid7
from services.leases import lease
from services.meetings.privacy import redact_payload
from services.principals import SYSTEM
from services.settings import get_settings
from services.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, webhook_id
from services.webhooks.repository import get_endpoint_row, may_see, wants
from services.webhooks.targets import TargetRefused, resolve_target

logger = logging.getLogger("services.webhooks")

# After the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; then the delivery fails.
RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 36000)
DISABLE_AFTER_FAILING = timedelta(days=5)
MAX_BODY_BYTES = 20_000


async def fan_out(session: AsyncSession, events: list[Event]) -> list[uuid.UUID]:
    """One delivery per (event, enabled endpoint that wants it and may see it), each with an
    id — its ``webhook-id`` — of its own. Returns the new ones.

    The ids are made here, row by row: a default evaluated once for an INSERT … SELECT would
    give every endpoint the same id. A delivery that already exists is a defect and raises."""
    rows: list[dict[str, uuid.UUID]] = []
    for event in events:
        query = select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True), wants(literal(event.type, String)))
        owner = owner_of(event.subject_type, event.subject_id, event.payload)
        if owner is not None:  # keys and endpoints: the secretariat's and their owners' business
            query = query.where(may_see(owner))
        for endpoint_id in await session.scalars(query.order_by(WebhookEndpoint.id)):
            rows.append({"id": uuid7(), "event_id": event.id, "endpoint_id": endpoint_id})
    if rows:
        await session.execute(insert(WebhookDelivery), rows)
    return [row["id"] for row in rows]


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
    signatures = [Webhook(endpoint.secret).sign(msg_id, timestamp, text)]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > clock.now()
    ):
        signatures.append(Webhook(endpoint.previous_secret).sign(msg_id, timestamp, text))
    return " ".join(signatures)


async def _lease(database: Database, delivery_id: uuid.UUID) -> tuple[WebhookEndpoint, Event, int] | None:
    async with database.session() as session:
        leased = await lease(session, WebhookDelivery, delivery_id, seconds=get_settings().webhook_lease_seconds)
        if leased is None:
            return None  # sent already, not due, or another worker holds it
        delivery = await session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
        event = await session.scalar(select(Event).where(Event.id == delivery.event_id))
        assert endpoint is not None and event is not None
        session.expunge_all()
        return endpoint, event, leased


async def send_delivery(
    database: Database, delivery_id: uuid.UUID, *, http: httpx.AsyncClient | None = None
) -> str | None:
    """Attempt one delivery if it is due; returns its outcome, or None when there was nothing to do."""
    leased = await _lease(database, delivery_id)
    if leased is None:
        return None
    endpoint, event, attempts = leased
    if not endpoint.enabled:
        await _finish(
            database,
            delivery_id,
            endpoint.id,
            attempts,
            status_code=None,
            error="endpoint disabled",
            latency_ms=0,
            outcome="failed",
        )
        return "failed"
    msg_id, timestamp = webhook_id(delivery_id), clock.now()
    body = body_for(event, for_admin=endpoint.owner_role in ("admin", "system"))
    headers = {
        "content-type": "application/json",
        "user-agent": "migration-network-registry-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(endpoint, msg_id, timestamp, body),
    }
    started = time.monotonic()
    status_code: int | None = None
    error: str | None = None
    client = http or httpx.AsyncClient(timeout=get_settings().webhook_timeout_seconds, follow_redirects=False)
    try:
        await resolve_target(endpoint.url)  # again at delivery: DNS may have changed since registration
        response = await client.post(endpoint.url, content=body, headers=headers)
        status_code = response.status_code
    except TargetRefused as refused:
        error = f"target refused: {refused}"
    except httpx.TimeoutException:
        error = "timed out"
    except httpx.HTTPError as failure:
        error = f"{type(failure).__name__}: {failure}"[:500]
    finally:
        if http is None:
            await client.aclose()
    latency_ms = int((time.monotonic() - started) * 1000)
    if status_code is not None and 200 <= status_code < 300:
        outcome = "succeeded"
    elif status_code == 410:
        outcome = "gone"
    else:
        outcome = "retry"
        if status_code is not None:
            error = f"HTTP {status_code}"
    return await _finish(
        database,
        delivery_id,
        endpoint.id,
        attempts,
        status_code=status_code,
        error=error,
        latency_ms=latency_ms,
        outcome=outcome,
    )


async def _finish(
    database: Database,
    delivery_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    attempts: int,
    *,
    status_code: int | None,
    error: str | None,
    latency_ms: int,
    outcome: str,
) -> str:
    async with database.session() as session:
        now = clock.now()
        delivery = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
        endpoint = await session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
        assert delivery is not None and endpoint is not None
        session.add(
            WebhookAttempt(
                delivery_id=delivery_id, attempted_at=now, status_code=status_code, latency_ms=latency_ms, error=error
            )
        )
        delivery.attempts = attempts + 1
        delivery.last_status_code = status_code
        delivery.last_error = error
        delivery.lease_until = None
        if outcome == "succeeded":
            delivery.status = DeliveryStatus.SUCCEEDED
            delivery.succeeded_at = now
            endpoint.failing_since = None
            return "succeeded"
        if outcome == "gone":
            delivery.status = DeliveryStatus.FAILED
            await _disable(session, endpoint, "the endpoint answered 410 Gone")
            return "disabled"
        if delivery.attempts > len(RETRY_DELAYS) or outcome == "failed":
            delivery.status = DeliveryStatus.FAILED
        else:
            delay = RETRY_DELAYS[delivery.attempts - 1]
            delivery.next_attempt_at = now + timedelta(seconds=delay * random.uniform(0.8, 1.2))
        endpoint.failing_since = endpoint.failing_since or now
        if endpoint.enabled and now - endpoint.failing_since >= DISABLE_AFTER_FAILING:
            await _disable(session, endpoint, "failing continuously for 5 days")
            return "disabled"
        return "failed" if delivery.status == DeliveryStatus.FAILED else "retrying"


async def _disable(session: AsyncSession, endpoint: WebhookEndpoint, reason: str) -> None:
    """Disable an endpoint and tell its owner (``webhook_endpoint.disabled`` goes to e-mail)."""
    if not endpoint.enabled:
        return
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    await session.flush()
    row = await get_endpoint_row(session, endpoint.id)
    assert row is not None
    record_event(
        session,
        type="webhook_endpoint.disabled",
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        owner_entity_id=endpoint.owner_entity_id,
        actor=SYSTEM,
        payload={"webhook_endpoint": row, "reason": reason, "owner_principal_id": endpoint.owner_principal_id},
        before={"enabled": True},
        after={"enabled": False, "disabled_reason": reason},
    )
    logger.warning("disabled webhook endpoint %s: %s", endpoint.id, reason)
