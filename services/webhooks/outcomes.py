"""Recording what a delivery attempt came to: the attempt, the delivery done or due again
(with backoff), the endpoint failing, recovered or disabled."""

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import DateTime, Integer, SmallInteger, Uuid, column, insert, literal, select, update, values
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import clock
from services.database import Database
from services.events.service import append_event
from services.ids import uuid7
from services.leases import DeliveryStatus
from services.principals import SYSTEM
from services.unit_of_work import autocommit_write, unit_of_work
from services.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from services.webhooks.repository import get_endpoint_row

logger = logging.getLogger("services.webhooks")

# After the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; then the delivery fails.
RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 36000)
DISABLE_AFTER_FAILING = timedelta(days=5)


@dataclass(frozen=True)
class Attempted:
    """One attempt's result, before it is recorded. ``outcome``: succeeded, gone (410),
    retry (any other answer, or none), or failed (the endpoint was disabled)."""

    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    attempts: int  # before this one
    status_code: int | None
    error: str | None
    latency_ms: int
    outcome: str


async def record_successes(database: Database, attempted: list[Attempted]) -> None:
    """Record successes — each attempt, each delivery done, their endpoints no longer failing —
    in one statement (two UPDATEs as CTEs of the attempts' INSERT: one round trip for the
    whole batch, without BEGIN and COMMIT), without locking an endpoint's row unless it was failing (every delivery
    to one endpoint used to queue on that lock)."""
    if not attempted:
        return
    now = clock.now()
    outcome = (
        values(
            column("attempt_id", Uuid),
            column("delivery_id", Uuid),
            column("attempts", SmallInteger),
            column("status_code", SmallInteger),
            column("latency_ms", Integer),
            name="outcome",
        )
        .data(
            # attempt ids given here: a statement with CTEs does not run the column's default
            [(uuid7(), a.delivery_id, a.attempts + 1, a.status_code, a.latency_ms) for a in attempted]
        )
        .cte("outcome")
    )
    done = (
        update(WebhookDelivery)
        .where(WebhookDelivery.id == outcome.c.delivery_id)
        .values(
            attempts=outcome.c.attempts,
            last_status_code=outcome.c.status_code,
            last_error=None,
            lease_until=None,
            status=DeliveryStatus.SUCCEEDED,
            succeeded_at=now,
        )
        .returning(WebhookDelivery.id)
        .cte("done")
    )
    recovered = (
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id.in_(sorted({a.endpoint_id for a in attempted})),
            WebhookEndpoint.failing_since.is_not(None),
        )
        # the record changed: a new version (its ETag), as the ORM would give it
        .values(failing_since=None, version=WebhookEndpoint.version + 1)
        .returning(WebhookEndpoint.id)
        .cte("recovered")
    )
    async with autocommit_write(database=database) as conn:  # one statement: no transaction around it
        await conn.execute(
            insert(WebhookAttempt)
            .from_select(
                ["id", "delivery_id", "attempted_at", "status_code", "latency_ms"],
                select(
                    outcome.c.attempt_id,
                    outcome.c.delivery_id,
                    literal(now, DateTime(timezone=True)),
                    outcome.c.status_code,
                    outcome.c.latency_ms,
                ),
            )
            .add_cte(done, recovered)
        )


async def record_failure(database: Database, attempted: Attempted) -> str:
    """Record an attempt that did not succeed: the delivery due again after its backoff, or
    failed for good; the endpoint failing since now (or before), disabled after 410 or five
    days of failing. Returns ``retrying``, ``failed`` or ``disabled``. A unit of work: the
    ``webhook_endpoint.disabled`` it may record is relayed at once (the after-commit hook)."""
    async with unit_of_work(database=database) as session:
        now = clock.now()
        delivery = await session.get(WebhookDelivery, attempted.delivery_id, with_for_update=True)
        endpoint = await session.get(WebhookEndpoint, attempted.endpoint_id, with_for_update=True)
        assert delivery is not None and endpoint is not None
        session.add(
            WebhookAttempt(
                delivery_id=attempted.delivery_id,
                attempted_at=now,
                status_code=attempted.status_code,
                latency_ms=attempted.latency_ms,
                error=attempted.error,
            )
        )
        delivery.attempts = attempted.attempts + 1
        delivery.last_status_code = attempted.status_code
        delivery.last_error = attempted.error
        delivery.lease_until = None
        if attempted.outcome == "gone":
            delivery.status = DeliveryStatus.FAILED
            await _disable(session, endpoint, "the endpoint answered 410 Gone")
            return "disabled"
        if delivery.attempts > len(RETRY_DELAYS) or attempted.outcome == "failed":
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
    await append_event(
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
