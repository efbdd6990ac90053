"""Webhook deliveries in batches: one broker message carries several deliveries, leased in one
statement, posted concurrently and recorded together. Every endpoint still gets each event
once under its own webhook-id, signed; each delivery keeps its own request id (its header,
its log line, the events its outcome records) whatever else its batch carries; and a batch
costs the database the same few statements whatever its size."""

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from services.database import get_database
from services.delivery.engine import send_batch
from services.delivery.relay import publish_batch
from services.delivery.senders import WEBHOOK
from services.delivery_status import DeliveryStatus
from services.events.models import Event
from services.observability.logs import HANDLER_NAME, configure_logging
from services.observability.metrics import WEBHOOK_DELIVERIES
from services.webhooks.models import WebhookAttempt, WebhookDelivery, webhook_id
from tests.conftest import committed_admin_key
from tests.served_app import served_app
from tests.sql_statements import statements_issued
from tests.stub_worker import broker, drain
from tests.webhook_receiver import Receiver
from worker.queueing import DELIVERIES_PER_MESSAGE
from worker.webhooks import send_new_deliveries


@pytest.fixture
async def admin(committed) -> Any:
    headers = {"Authorization": f"Bearer {await committed_admin_key()}"}
    client = AsyncClient(transport=ASGITransport(app=served_app()), base_url="http://t", headers=headers)
    yield client
    await client.aclose()
    broker.flush_all()


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    pair = (Receiver(), Receiver())
    yield pair
    for receiver in pair:
        receiver.close()


async def _endpoint(admin: AsyncClient, receiver: Receiver, types: list[str]) -> dict[str, Any]:
    created = await admin.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": types})
    assert created.status_code == 201, created.text
    return dict(created.json())


async def _entity(admin: AsyncClient, acronym: str, request_id: str) -> dict[str, Any]:
    created = await admin.post(
        "/v1/entities",
        json={"acronym": acronym, "name": f"Batch {acronym}", "kind": "un_system"},
        headers={"X-Request-ID": request_id},
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


async def _relay_once() -> list[dramatiq.Message[Any]]:
    """Relay every pending event in one run, as the relay does, and return the delivery
    messages it queued (the nudges the writes sent are dropped first)."""
    broker.flush_all()
    async with get_database().session() as session:
        published = await publish_batch(session)
    await send_new_deliveries(published.webhook_deliveries)
    raw = list(broker.queues["default"].queue)
    messages = [dramatiq.Message.decode(message) for message in raw]
    return [m for m in messages if m.actor_name == "webhooks.deliver"]


async def test_both_endpoints_get_every_event_of_a_batch_once_signed_under_their_own_ids(admin, receivers):
    everything, created_only = receivers
    endpoints = [
        await _endpoint(admin, everything, ["entity.*"]),
        await _endpoint(admin, created_only, ["entity.created"]),
    ]
    await drain(threads=2)  # what the set-up caused
    for receiver in receivers:
        receiver.requests.clear()
    count = 30
    entities = [await _entity(admin, f"BAT{i}", f"batch-{i}") for i in range(count)]

    messages = await _relay_once()
    carried = [delivery_id for message in messages for delivery_id in message.args[0]]
    # 60 deliveries in three messages, each delivery in exactly one
    assert len(carried) == len(set(carried)) == 2 * count
    assert len(messages) == -(-2 * count // DELIVERIES_PER_MESSAGE) < 2 * count
    await drain(threads=2)

    ids_seen: list[str] = []
    for endpoint, receiver in zip(endpoints, receivers, strict=True):
        assert len(receiver.requests) == count, endpoint["event_types"]
        got = set()
        for request in receiver.requests:
            body = Webhook(endpoint["secret"]).verify(request["body"], request["headers"])
            assert body["type"] == "entity.created"
            index = next(i for i, e in enumerate(entities) if e["id"] == body["data"]["entity"]["id"])
            assert request["headers"]["x-request-id"] == f"batch-{index}"
            got.add(index)
            ids_seen.append(request["headers"]["webhook-id"])
        assert got == set(range(count))
    assert len(set(ids_seen)) == 2 * count, "two deliveries shared a webhook-id"
    async with get_database().read() as conn:
        deliveries = (
            await conn.execute(select(WebhookDelivery.id, WebhookDelivery.status, WebhookDelivery.attempts))
        ).all()
        attempts = await conn.scalar(select(func.count()).select_from(WebhookAttempt))
    assert {webhook_id(d.id) for d in deliveries} == set(ids_seen)
    assert {(d.status, d.attempts) for d in deliveries} == {(DeliveryStatus.SUCCEEDED, 1)} and attempts == 2 * count


async def test_a_batch_costs_two_statements_whatever_its_size(admin, receivers):
    await _endpoint(admin, receivers[0], ["entity.*"])
    await drain(threads=2)
    measured = {}
    for size in (2, 12):
        for i in range(size):
            await _entity(admin, f"S{size}X{i}", f"size-{size}-{i}")
        ids = [uuid.UUID(i) for message in await _relay_once() for i in message.args[0]]
        assert len(ids) == size
        with statements_issued() as statements:
            sent = await send_batch(get_database(), WEBHOOK, ids)
        assert [s.outcome for s in sent] == ["succeeded"] * size
        measured[size] = len(statements)
    # one to lease the batch and load its endpoints and events, one to record its successes
    assert measured == {2: 2, 12: 2}
    assert len(receivers[0].requests) == 14
    # sent already: a repeat message leases nothing and sends nothing
    assert await send_batch(get_database(), WEBHOOK, ids) == []
    assert len(receivers[0].requests) == 14


async def test_each_delivery_of_a_mixed_batch_keeps_its_own_request_id(admin, receivers):
    ok, gone = receivers
    gone.script = [410]
    await _endpoint(admin, ok, ["entity.*"])
    gone_endpoint = await _endpoint(admin, gone, ["entity.created"])
    await drain(threads=2)
    ok.requests.clear()
    gone.requests.clear()
    created = await _entity(admin, "MIXED", "mixed-created")
    etag = (await admin.get(f"/v1/entities/{created['id']}")).headers["etag"]
    renamed = await admin.patch(
        f"/v1/entities/{created['id']}",
        json={"name": "Mixed, renamed"},
        headers={"If-Match": etag, "X-Request-ID": "mixed-updated"},
    )
    assert renamed.status_code == 200, renamed.text

    [message] = await _relay_once()  # three deliveries of two requests: one message
    assert len(message.args[0]) == 3 and "request_id" not in message.options
    before = {o: WEBHOOK_DELIVERIES.labels(o)._value.get() for o in ("succeeded", "disabled")}  # type: ignore[attr-defined]
    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    configure_logging(level="INFO", log_format="json", stream=buffer)
    try:
        await drain(threads=1)
    finally:
        for handler in list(root.handlers):
            if handler.get_name() == HANDLER_NAME:
                root.removeHandler(handler)
        root.setLevel(level)

    assert sorted(r["headers"]["x-request-id"] for r in ok.requests) == ["mixed-created", "mixed-updated"]
    assert [r["headers"]["x-request-id"] for r in gone.requests] == ["mixed-created"]
    async with get_database().read() as conn:
        disabled = (
            await conn.execute(
                select(Event.request_id).where(
                    Event.type == "webhook_endpoint.disabled", Event.subject_id == uuid.UUID(gone_endpoint["id"])
                )
            )
        ).all()
        deliveries = dict((await conn.execute(select(WebhookDelivery.id, WebhookDelivery.request_id))).all())
    assert [row[0] for row in disabled] == ["mixed-created"]  # the request whose delivery met the 410
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    outcomes = {}
    for line in lines:
        if line["logger"] == "worker.webhooks" and line["message"].startswith("webhook delivery "):
            delivery_id = uuid.UUID(line["message"].split()[2].rstrip(":"))
            assert line["request_id"] == deliveries[delivery_id], line
            outcomes[delivery_id] = line["message"].rsplit(" ", 1)[1]
    assert sorted(outcomes.values()) == ["disabled", "succeeded", "succeeded"]
    after = {o: WEBHOOK_DELIVERIES.labels(o)._value.get() for o in ("succeeded", "disabled")}  # type: ignore[attr-defined]
    assert (after["succeeded"] - before["succeeded"], after["disabled"] - before["disabled"]) == (2, 1)
