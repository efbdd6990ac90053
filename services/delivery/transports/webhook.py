"""The webhook transport: a delivery is a signed POST (Standard Webhooks) of its event to its
endpoint, under the same ``webhook-id`` on every attempt. 2xx succeeds; 410 Gone disables
the endpoint; any other answer, or none, is tried again on the schedule. An endpoint failing
for five days is disabled; an endpoint that answers again after failing has its deliveries
that wait for a retry made due at once."""

import asyncio
import logging
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import clock
from services.delivery.engine import request_context
from services.delivery.leases import make_waiting_due
from services.delivery.transport import Answer, Attempted, Job, Verdict, describe
from services.encryption import KeyringError
from services.events.models import Event
from services.events.service import append_event
from services.principals import SYSTEM
from services.settings import get_settings
from services.webhooks.delivery import body_for, signature_header
from services.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, webhook_id
from services.webhooks.repository import get_endpoint_row
from services.webhooks.targets import TargetRefused
from services.webhooks.transport import CheckedTransport, operator_detail, subscriber_error

logger = logging.getLogger("services.webhooks")

DISABLE_AFTER_FAILING = timedelta(days=5)
# Posts of one batch in flight at once: a batch (worker.queueing.DELIVERIES_PER_MESSAGE, 10)
# to endpoints that all time out (15 s) is done in two rounds, well inside the actor's time
# limit and the lease; a worker process's four batches keep 20 connections busy (and alive
# for the next batch). More cost more CPU per delivery, measured: httpx's pool looks at every
# idle connection on every request.
POSTS_AT_ONCE = 5

_ENDPOINT_COLUMNS = (
    "id",
    "url",
    "enabled",
    "owner_role",
    "secret",
    "previous_secret",
    "previous_secret_expires_at",
    "secrets_key_id",
    "failing_since",
)
_EVENT_COLUMNS = ("id", "type", "occurred_at", "payload", "subject_type", "subject_id", "request_id")

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
            # connects only to the addresses it checked (services/webhooks/transport.py)
            transport=CheckedTransport(
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=4.0)
            ),
        )
        _clients[loop] = client
    return client


@dataclass(frozen=True)
class _Post:
    """What a webhook delivery is made of: its endpoint and its event (plain records, never
    added to a session)."""

    endpoint: WebhookEndpoint
    event: Event


@dataclass(frozen=True)
class _Message:
    """The post, but for its signature: signed as it is sent (a secret whose key is not
    configured is then a failure to send, tried again, not a message that can never be made)."""

    body: bytes
    headers: dict[str, str]
    msg_id: str
    timestamp: datetime


class WebhookTransport:
    name = "webhook"
    model = WebhookDelivery
    attempt_model = WebhookAttempt
    succeeded_at = "succeeded_at"
    leased_columns: tuple[str, ...] = ("endpoint_id", "event_id")
    at_once = POSTS_AT_ONCE

    def __init__(self, http: httpx.AsyncClient | None = None) -> None:
        self.http = http

    @property
    def lease_seconds(self) -> float:
        return get_settings().webhook_lease_seconds

    def loading(self, leased: Any) -> Select[Any]:
        return (
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

    async def jobs(self, conn: AsyncConnection, rows: list[Any]) -> list[Job]:
        endpoint_end = 3 + len(_ENDPOINT_COLUMNS)
        jobs = []
        for row in rows:
            endpoint = WebhookEndpoint(**dict(zip(_ENDPOINT_COLUMNS, row[3:endpoint_end], strict=True)))
            event = Event(**dict(zip(_EVENT_COLUMNS, row[endpoint_end:], strict=True)))
            jobs.append(Job(row[0], row[1], row[2], endpoint.id, _Post(endpoint, event)))
        return jobs

    def compose(self, job: Job) -> _Message:
        endpoint, event = job.content.endpoint, job.content.event
        msg_id, timestamp = webhook_id(job.delivery_id), clock.now()
        body = body_for(event, for_admin=endpoint.owner_role in ("admin", "system"))
        headers = {
            "content-type": "application/json",
            "user-agent": "migration-network-registry-webhooks/1",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
        }
        if event.request_id:  # the request that caused the event: one id from request to receipt
            headers["x-request-id"] = event.request_id
        return _Message(body, headers, msg_id, timestamp)

    async def send(self, job: Job, message: _Message) -> Answer:
        endpoint = job.content.endpoint
        if not endpoint.enabled:
            return Answer(Verdict.PERMANENT, None, "endpoint disabled")
        signature = signature_header(endpoint, message.msg_id, message.timestamp, message.body)
        # The client's transport checks the target where it connects: DNS may have changed since registration.
        response = await (self.http or delivery_client()).post(
            endpoint.url,
            content=message.body,
            headers={**message.headers, "webhook-signature": signature},
            timeout=get_settings().webhook_timeout_seconds,
        )
        status = response.status_code
        if 200 <= status < 300:
            return Answer(Verdict.SUCCEEDED, status)
        if status == 410:
            return Answer(Verdict.GONE, status, "HTTP 410")
        return Answer(Verdict.RETRY, status, f"HTTP {status}")

    def classify(self, error: Exception) -> Answer:
        """No answer: tried again (a refused target too: DNS may change back). The subscriber
        is told what it can act on (``could not connect``, ``timed out``, the refused target),
        the operator's log the detail."""
        if isinstance(error, KeyringError):  # the operator's to fix: the key is put back
            logger.error("webhook delivery not signed: %s", error)
            return Answer(Verdict.RETRY, None, "not sent: the registry cannot sign it (its operator is told)")
        if isinstance(error, (TargetRefused, httpx.HTTPError)):
            logger.warning("webhook delivery failed: %s", operator_detail(error))
            return Answer(Verdict.RETRY, None, subscriber_error(error))
        return Answer(Verdict.RETRY, None, describe(error))

    def needs_follow_up(self, attempted: list[Attempted]) -> bool:
        return any(_endpoint_change(one, clock.now()) is not None for one in attempted)

    async def follow_up(self, session: AsyncSession, attempted: list[Attempted]) -> dict[uuid.UUID, str]:
        now = clock.now()
        changes: dict[str, dict[uuid.UUID, Attempted]] = {}
        for one in attempted:
            change = _endpoint_change(one, now)
            if change is not None:
                assert one.job.endpoint_id is not None
                changes.setdefault(change, {}).setdefault(one.job.endpoint_id, one)
        recovered = sorted(changes.get("recovered", {}))
        if recovered:
            await _recover(session, recovered, now=now)
        failing = sorted(changes.get("failing", {}))
        if failing:
            await session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id.in_(failing), WebhookEndpoint.failing_since.is_(None))
                .values(failing_since=now, version=WebhookEndpoint.version + 1)
            )
        disabled: dict[uuid.UUID, str] = {}
        for change, reason in (
            ("gone", "the endpoint answered 410 Gone"),
            ("stale", "failing continuously for 5 days"),
        ):
            for endpoint_id, one in sorted(changes.get(change, {}).items()):
                with request_context(one.job.request_id):
                    if await _disable(session, endpoint_id, reason):
                        disabled[one.job.delivery_id] = "disabled"
        return disabled


def _endpoint_change(one: Attempted, now: datetime) -> str | None:
    """What an attempt tells of its endpoint: ``recovered`` (it answers again after failing),
    ``failing`` (it fails, from now), ``gone`` (410), ``stale`` (failing for five days), or
    nothing new (None)."""
    failing_since: datetime | None = one.job.content.endpoint.failing_since
    verdict = one.answer.verdict
    if verdict is Verdict.SUCCEEDED:
        return "recovered" if failing_since is not None else None
    if verdict is Verdict.GONE:
        return "gone"
    if not one.job.content.endpoint.enabled:
        return None
    if failing_since is None:
        return "failing"
    return "stale" if now - failing_since >= DISABLE_AFTER_FAILING else None


async def _recover(session: AsyncSession, endpoint_ids: list[uuid.UUID], *, now: datetime) -> None:
    """Endpoints that answer again: no longer failing (a new version, its ETag, as the ORM
    would give it), and their deliveries that wait for a retry due now, in order."""
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id.in_(endpoint_ids), WebhookEndpoint.failing_since.is_not(None))
        .values(failing_since=None, version=WebhookEndpoint.version + 1)
    )
    due = await make_waiting_due(session, WebhookDelivery, WebhookDelivery.endpoint_id.in_(endpoint_ids), now=now)
    if due:
        logger.info("%d waiting deliveries due again: their endpoints answer again", len(due))


async def _disable(session: AsyncSession, endpoint_id: uuid.UUID, reason: str) -> bool:
    """Disable an endpoint and tell its owner (``webhook_endpoint.disabled`` goes to e-mail);
    False when it was disabled already."""
    endpoint = await session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
    if endpoint is None or not endpoint.enabled:
        return False
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.failing_since = endpoint.failing_since or clock.now()
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
    return True
