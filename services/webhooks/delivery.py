"""Fanning events out to endpoints, and sending deliveries: signed, timed, recorded, retried.

Deliveries are sent in batches (one broker message carries several): leased in one
statement, posted concurrently, their successes recorded in one statement. A delivery is
leased while it is sent (never held in an open transaction across the HTTP call); a worker
killed mid-send lets the lease lapse and the scheduler sends the same delivery again, under
the same ``webhook-id``."""

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import orjson
from sqlalchemy import String, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from services import context
from services.clock import clock
from services.database import Database
from services.events.models import Event
from services.events.privacy import redact_payload
from services.events.visibility import owner_of
from services.ids import uuid7
from services.leases import Queued, clear_spent_marks, leasing
from services.settings import get_settings
from services.unit_of_work import autocommit_write
from services.webhooks.models import WebhookDelivery, WebhookEndpoint, webhook_id
from services.webhooks.outcomes import RETRY_DELAYS, Attempted, record_failure, record_successes
from services.webhooks.repository import endpoints_wanting, may_see, wants
from services.webhooks.secrets import signing_secrets
from services.webhooks.targets import TargetRefused
from services.webhooks.transport import CheckedTransport, operator_detail, subscriber_error

logger = logging.getLogger("services.webhooks")

__all__ = ["RETRY_DELAYS", "Sent", "body_for", "fan_out", "send_batch", "send_delivery", "signature_header"]

MAX_BODY_BYTES = 20_000
# Posts of one batch in flight at once: a batch (worker.webhooks.DELIVERIES_PER_MESSAGE, 10)
# to endpoints that all time out (15 s) is done in two rounds, well inside the actor's time
# limit and the lease; a worker process's four batches keep 20 connections busy (and alive
# for the next batch). More cost more CPU per delivery, measured: httpx's pool looks at every
# idle connection on every request.
POSTS_AT_ONCE = 5


async def fan_out(session: AsyncSession, events: list[Event], *, queued_until: datetime) -> list[Queued]:
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


# One client per event loop (a worker process runs one): its connection pool keeps
# connections to receivers alive between deliveries. Building a client is costly (its TLS
# context loads the CA bundle: tens of milliseconds on the loop), a connection too.
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]" = weakref.WeakKeyDictionary()


def delivery_client() -> httpx.AsyncClient:
    """The running loop's HTTP client for deliveries, created on first use. Redirects are
    never followed (a 3xx is a failed attempt); the timeout is given per request."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            follow_redirects=False,
            # as many kept alive as a process's batches use at once; not more: the pool looks
            # at every idle connection (a system call each) on every request
            transport=CheckedTransport(
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=4.0)
            ),
        )
        _clients[loop] = client
    return client


@dataclass(frozen=True)
class _Leased:
    delivery_id: uuid.UUID
    attempts: int
    endpoint: WebhookEndpoint
    event: Event
    request_id: str | None


@dataclass(frozen=True)
class Sent:
    """What became of one delivery of a batch: ``succeeded``, ``retrying``, ``failed`` or
    ``disabled`` (its endpoint was, and ``webhook_endpoint.disabled`` recorded)."""

    delivery_id: uuid.UUID
    request_id: str | None
    outcome: str


_ENDPOINT_COLUMNS = (
    "id",
    "url",
    "enabled",
    "owner_role",
    "secret",
    "previous_secret",
    "previous_secret_expires_at",
    "secrets_key_id",
)
_EVENT_COLUMNS = ("id", "type", "occurred_at", "payload", "subject_type", "subject_id", "request_id")


async def _lease(database: Database, delivery_ids: list[uuid.UUID]) -> list[_Leased]:
    """Lease the due ones among ``delivery_ids`` and load their endpoints and events: one
    statement (the UPDATE a CTE of the SELECT), one round trip, whatever the batch's size.
    A single statement needs no transaction around it (it was BEGIN, UPDATE, SELECT, COMMIT)."""
    leased = (
        leasing(WebhookDelivery, delivery_ids, seconds=get_settings().webhook_lease_seconds)
        .returning(
            WebhookDelivery.id,
            WebhookDelivery.attempts,
            WebhookDelivery.endpoint_id,
            WebhookDelivery.event_id,
            WebhookDelivery.request_id,
        )
        .cte("leased")
    )
    query = (
        select(
            leased.c.id,
            leased.c.attempts,
            leased.c.request_id,
            *(getattr(WebhookEndpoint, name) for name in _ENDPOINT_COLUMNS),
            *(getattr(Event, name) for name in _EVENT_COLUMNS),
        )
        .select_from(leased)
        .join(WebhookEndpoint, WebhookEndpoint.id == leased.c.endpoint_id)
        .join(Event, Event.id == leased.c.event_id)
        .order_by(leased.c.id)
    )
    async with autocommit_write(database=database) as conn:
        rows = (await conn.execute(query)).all()
        if len(rows) < len(delivery_ids):  # rare: one more round trip only then
            leased_ids = {row[0] for row in rows}
            await clear_spent_marks(conn, WebhookDelivery, [i for i in delivery_ids if i not in leased_ids])
    out = []
    endpoint_end = 3 + len(_ENDPOINT_COLUMNS)
    for row in rows:
        # Plain records to read from (never added to a session): no identity map, no loading.
        endpoint = WebhookEndpoint(**dict(zip(_ENDPOINT_COLUMNS, row[3:endpoint_end], strict=True)))
        event = Event(**dict(zip(_EVENT_COLUMNS, row[endpoint_end:], strict=True)))
        out.append(_Leased(row[0], row[1], endpoint, event, row[2]))
    return out


@contextmanager
def _request_context(request_id: str | None) -> Iterator[None]:
    """The request id of the delivery at hand: log lines about it and events its outcome
    records (an endpoint disabled) carry it, whatever else its batch carries."""
    token = context.request_id.set(request_id)
    try:
        yield
    finally:
        context.request_id.reset(token)


async def _post(leased: _Leased, client: httpx.AsyncClient) -> Attempted:
    endpoint, event = leased.endpoint, leased.event
    if not endpoint.enabled:
        return Attempted(leased.delivery_id, endpoint.id, leased.attempts, None, "endpoint disabled", 0, "failed")
    msg_id, timestamp = webhook_id(leased.delivery_id), clock.now()
    body = body_for(event, for_admin=endpoint.owner_role in ("admin", "system"))
    headers = {
        "content-type": "application/json",
        "user-agent": "migration-network-registry-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(endpoint, msg_id, timestamp, body),
    }
    if event.request_id:  # the request that caused the event: one id from request to receipt
        headers["x-request-id"] = event.request_id
    started = time.monotonic()
    status_code: int | None = None
    error: str | None = None
    try:  # the transport checks the target again: DNS may have changed since registration
        response = await client.post(
            endpoint.url, content=body, headers=headers, timeout=get_settings().webhook_timeout_seconds
        )
        status_code = response.status_code
    except (TargetRefused, httpx.HTTPError) as failure:
        error = subscriber_error(failure)
        logger.warning(
            "webhook delivery %s to endpoint %s: %s", leased.delivery_id, endpoint.id, operator_detail(failure)
        )
    latency_ms = int((time.monotonic() - started) * 1000)
    if status_code is not None and 200 <= status_code < 300:
        outcome = "succeeded"
    elif status_code == 410:
        outcome = "gone"
    else:
        outcome = "retry"
        if status_code is not None:
            error = f"HTTP {status_code}"
    return Attempted(leased.delivery_id, endpoint.id, leased.attempts, status_code, error, latency_ms, outcome)


async def send_batch(
    database: Database, delivery_ids: list[uuid.UUID], *, http: httpx.AsyncClient | None = None
) -> list[Sent]:
    """Attempt the due ones among ``delivery_ids``, concurrently, on the loop's pooled client;
    record every success in one statement, each other outcome on its own (it may lock and
    disable the endpoint). Deliveries not due, done, or leased by another worker are left
    alone and not listed. Two deliveries of one batch to one endpoint are two posts, each
    with its own ``webhook-id``."""
    leased = await _lease(database, delivery_ids)
    if not leased:
        return []
    client = http or delivery_client()
    in_flight = asyncio.Semaphore(POSTS_AT_ONCE)

    async def post(one: _Leased) -> Attempted:
        async with in_flight:
            return await _post(one, client)

    results = await asyncio.gather(*(post(one) for one in leased), return_exceptions=True)
    # A defect in one post must not lose the others' outcomes: they are recorded, it is
    # logged (its lease lapses and the scheduler hands it out again).
    attempted = [result for result in results if isinstance(result, Attempted)]
    request_ids = {one.delivery_id: one.request_id for one in leased}
    await record_successes(database, [a for a in attempted if a.outcome == "succeeded"])
    sent: list[Sent] = []
    for attempt in attempted:
        outcome = attempt.outcome
        if outcome != "succeeded":
            with _request_context(request_ids[attempt.delivery_id]):
                outcome = await record_failure(database, attempt)
        sent.append(Sent(attempt.delivery_id, request_ids[attempt.delivery_id], outcome))
    for one, result in zip(leased, results, strict=True):
        if isinstance(result, BaseException):
            with _request_context(one.request_id):
                logger.error(
                    "webhook delivery %s: not sent, sent again when its lease lapses", one.delivery_id, exc_info=result
                )
    return sent


async def send_delivery(
    database: Database, delivery_id: uuid.UUID, *, http: httpx.AsyncClient | None = None
) -> str | None:
    """Attempt one delivery if it is due; returns its outcome, or None when there was nothing to do."""
    sent = await send_batch(database, [delivery_id], http=http)
    return sent[0].outcome if sent else None
