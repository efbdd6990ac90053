"""Webhooks (Standard Webhooks 1.0): registration, ownership, signed deliveries to a real
receiver, retries under one webhook-id, 410, rotation, replay, refused targets."""

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.clock import clock
from services.database import get_database
from services.delivery.schedule import RETRY_DELAYS
from services.delivery.senders import send_webhook as send_delivery
from services.events.models import Event
from services.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import committed_admin_key
from tests.served_app import served_app
from tests.stub_worker import broker, drain
from tests.webhook_receiver import Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


async def test_registration_shows_the_secret_once_and_refuses_private_targets(client, make_client, receiver):
    created = await client.post(
        "/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["membership.*", "entity.created"]}
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    fetched = (await client.get(f"/v1/webhook-endpoints/{created.json()['id']}")).json()
    assert "secret" not in fetched
    for url in (
        "http://10.1.2.3/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest",
        "http://[::1]:8080/x",
        "ftp://127.0.0.1/x",
        "https://0.0.0.0/x",
    ):
        refused = await client.post("/v1/webhook-endpoints", json={"url": url, "event_types": ["*"]})
        assert refused.status_code == 422, url
    assert (
        await client.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["Not A Type"]})
    ).status_code == 422
    reader = await make_client("reader")
    assert (
        await reader.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["*"]})
    ).status_code == 403


async def test_a_host_or_port_that_cannot_be_looked_up_is_a_clear_422(client, receiver):
    created = await client.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["*"]})
    endpoint = created.json()
    for url in (
        "https://\U00065cd7MMv\U0010beab?7t",  # found by schemathesis: IDNA cannot encode the name
        "https://" + "a" * 64 + ".org/hook",  # a label longer than 63 characters
        "https://example.org:99999/hook",  # a port out of range
    ):
        refused = await client.post("/v1/webhook-endpoints", json={"url": url, "event_types": ["*"]})
        assert refused.status_code == 422, (url, refused.text)
        assert refused.json()["type"] == "/problems/webhook-url-refused"
        assert "can be looked up" in refused.json()["detail"]
        changed = await client.patch(
            f"/v1/webhook-endpoints/{endpoint['id']}", json={"url": url}, headers={"If-Match": '"1"'}
        )
        assert changed.status_code == 422, (url, changed.text)
    assert (await client.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()["url"] == receiver.url


async def test_an_integrator_manages_its_own_endpoints_and_cannot_see_others(make_client, receiver):
    mine, theirs = await make_client("integrator"), await make_client("integrator")
    endpoint = (await mine.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["*"]})).json()
    url = f"/v1/webhook-endpoints/{endpoint['id']}"
    assert (await mine.get(url)).status_code == 200
    assert [e["id"] for e in (await mine.get("/v1/webhook-endpoints")).json()["items"]] == [endpoint["id"]]
    assert (await theirs.get("/v1/webhook-endpoints")).json()["items"] == []
    for method, path, body in (
        ("GET", url, None),
        ("GET", f"{url}/deliveries", None),
        ("POST", f"{url}/rotate-secret", None),
        ("DELETE", url, None),
        ("POST", f"{url}/replay", {"since": "2020-01-01T00:00:00Z"}),
    ):
        assert (await theirs.request(method, path, json=body)).status_code == 404, path
    assert (await mine.delete(url)).status_code == 204


@pytest.fixture
async def world(committed, receiver):
    """A committed endpoint at the receiver, an admin client, and a worker on the in-memory broker."""
    headers = {"Authorization": f"Bearer {await committed_admin_key()}"}
    client = AsyncClient(transport=ASGITransport(app=served_app()), base_url="http://t", headers=headers)
    created = (
        await client.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["entity.*"]})
    ).json()
    broker.flush_all()
    yield client, created
    await client.aclose()


async def _run_worker():
    await drain(threads=2)


def _verify(secret: str, request: dict) -> dict:
    return Webhook(secret).verify(request["body"], request["headers"])


async def test_a_write_reaches_the_receiver_signed_once(world, receiver):
    client, endpoint = world
    entity = (await client.post("/v1/entities", json={"acronym": "HOOK", "name": "Hooked", "kind": "un_system"})).json()
    await client.post("/v1/networks", json={"name": "x"})  # refused (422): nothing to deliver
    await _run_worker()
    assert len(receiver.requests) == 1
    payload = _verify(endpoint["secret"], receiver.requests[0])
    assert payload["type"] == "entity.created" and payload["data"]["entity"]["id"] == entity["id"]
    assert set(payload) == {"type", "timestamp", "data"}
    assert receiver.requests[0]["headers"]["webhook-id"].startswith("msg_")
    log = (await client.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries")).json()["items"]
    assert [(d["status"], d["attempts"], d["webhook_id"]) for d in log] == [
        ("succeeded", 1, receiver.requests[0]["headers"]["webhook-id"])
    ]
    assert log[0]["attempt_log"][0]["status_code"] == 200 and log[0]["attempt_log"][0]["latency_ms"] >= 0
    await _run_worker()  # a repeat relay sends nothing twice
    assert len(receiver.requests) == 1


async def test_failures_retry_under_the_same_webhook_id_on_schedule(world, receiver):
    client, endpoint = world
    receiver.script = [500, 302, 200]
    await client.post("/v1/entities", json={"acronym": "RETRY", "name": "Retry", "kind": "un_system"})
    await _run_worker()
    database = get_database()
    async with database.session() as session:
        delivery = (await session.scalars(select(WebhookDelivery))).one()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert (
        timedelta(seconds=RETRY_DELAYS[0] * 0.79)
        <= delivery.next_attempt_at - delivery.created_at
        <= timedelta(seconds=RETRY_DELAYS[0] * 1.2 + 5)
    )
    assert await send_delivery(database, delivery.id) is None  # not due yet
    clock.freeze(datetime.now(UTC) + timedelta(seconds=10))
    assert await send_delivery(database, delivery.id) == "retrying"  # the redirect is not followed
    failing = await client.get(f"/v1/webhook-endpoints/{endpoint['id']}")
    assert failing.json()["failing_since"] is not None
    clock.freeze(datetime.now(UTC) + timedelta(minutes=10))
    assert await send_delivery(database, delivery.id) == "succeeded"
    recovered = await client.get(f"/v1/webhook-endpoints/{endpoint['id']}")
    assert recovered.json()["failing_since"] is None  # the success clears it, and the record's ETag moves on
    assert recovered.headers["etag"] != failing.headers["etag"]
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1 and len(receiver.requests) == 3
    _verify(endpoint["secret"], receiver.requests[0])
    for request in receiver.requests[1:]:  # sent on the frozen clock: check the signature itself
        headers = request["headers"]
        sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
        expected = Webhook(endpoint["secret"]).sign(headers["webhook-id"], sent_at, request["body"].decode())
        assert headers["webhook-signature"] == expected


async def test_410_disables_the_endpoint_and_tells_its_owner(world, receiver):
    client, endpoint = world
    receiver.script = [410]
    await client.post("/v1/entities", json={"acronym": "GONE", "name": "Gone", "kind": "un_system"})
    await _run_worker()
    state = (await client.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()
    assert state["enabled"] is False and "410" in state["disabled_reason"]
    async with get_database().read() as conn:
        types = (await conn.scalars(select(Event.type).where(Event.subject_id == endpoint["id"]))).all()
    assert "webhook_endpoint.disabled" in types


async def test_an_endpoint_failing_for_five_days_is_disabled(world, receiver):
    client, endpoint = world
    receiver.script = [503]
    database = get_database()
    async with database.session() as session:
        await session.execute(
            update(WebhookEndpoint).values(failing_since=datetime.now(UTC) - timedelta(days=5, minutes=1))
        )
    await client.post("/v1/entities", json={"acronym": "DOWN", "name": "Down", "kind": "un_system"})
    await _run_worker()
    assert (await client.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()["enabled"] is False


async def test_after_rotation_both_secrets_verify_for_a_day(world, receiver):
    client, endpoint = world
    rotated = await client.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret")
    new_secret = rotated.json()["secret"]
    assert new_secret != endpoint["secret"]
    await client.post("/v1/entities", json={"acronym": "ROT", "name": "Rotated", "kind": "un_system"})
    await _run_worker()
    request = receiver.requests[-1]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    _verify(endpoint["secret"], request)
    _verify(new_secret, request)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(request["body"], request["headers"])


async def test_replay_sends_a_failed_delivery_again_under_its_id(world, receiver):
    client, endpoint = world
    database = get_database()
    receiver.script = [500] * 10
    await client.post("/v1/entities", json={"acronym": "REPLAY", "name": "Replay", "kind": "un_system"})
    await _run_worker()
    async with database.session() as session:
        await session.execute(update(WebhookDelivery).values(status="failed"))
    receiver.script = []
    replayed = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/replay", json={"since": "2020-01-01T00:00:00Z"}
    )
    assert replayed.status_code == 202 and len(replayed.json()["replayed"]) == 1
    assert await send_delivery(database, uuid.UUID(replayed.json()["replayed"][0])) == "succeeded"
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1


async def test_endpoints_get_only_the_types_they_want(world, receiver):
    client, endpoint = world
    await client.patch(
        f"/v1/webhook-endpoints/{endpoint['id']}", json={"event_types": ["meeting.*"]}, headers={"If-Match": '"1"'}
    )
    await client.post("/v1/entities", json={"acronym": "SKIP", "name": "Skipped", "kind": "un_system"})
    await _run_worker()
    assert receiver.requests == []


async def test_a_target_that_turns_private_is_refused_at_delivery(world, receiver):
    client, endpoint = world
    database = get_database()
    async with database.session() as session:
        await session.execute(update(WebhookEndpoint).values(url="http://10.20.30.40/hooks"))
    await client.post("/v1/entities", json={"acronym": "PRIV", "name": "Private", "kind": "un_system"})
    await _run_worker()
    assert receiver.requests == []
    log = (await client.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries")).json()["items"]
    assert log[0]["status"] == "pending" and log[0]["last_error"].startswith("target refused")


def test_a_large_record_is_sent_as_a_reference_under_20_kb():
    from services.webhooks.delivery import MAX_BODY_BYTES, body_for

    event = Event(
        id=uuid.uuid4(),
        type="mou.updated",
        subject_type="mou",
        subject_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        payload={"mou": {"title": "x" * 50_000}},
    )
    body = body_for(event)
    assert len(body) < MAX_BODY_BYTES
    assert b'"truncated":true' in body and str(event.subject_id).encode() in body
    small = Event(
        id=uuid.uuid4(),
        type="mou.updated",
        subject_type="mou",
        subject_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        payload={"mou": {"title": "x"}},
    )
    assert b'"title":"x"' in body_for(small)


async def test_an_integrators_webhooks_and_feed_leave_out_invitees_addresses(committed, receiver):
    from services.meetings.models import MeetingKind
    from services.meetings.schemas import InviteeIn, MeetingCreate
    from services.meetings.service import create_meeting
    from services.principals import SYSTEM
    from tests.factories import make_network

    admin = AsyncClient(
        transport=ASGITransport(app=served_app()),
        base_url="http://t",
        headers={"Authorization": f"Bearer {await committed_admin_key()}"},
    )
    key = (await admin.post("/v1/api-keys", json={"name": "Portal", "role": "integrator"})).json()["key"]
    integrator = AsyncClient(
        transport=ASGITransport(app=served_app()), base_url="http://t", headers={"Authorization": f"Bearer {key}"}
    )
    assert (
        await integrator.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["meeting.*"]})
    ).status_code == 201
    broker.flush_all()
    async with get_database().session() as session:
        network = await make_network(session)
        starts = datetime.now(UTC) + timedelta(days=20)
        await create_meeting(
            session,
            data=MeetingCreate(
                network_id=network["id"],
                kind=MeetingKind.OTHER,
                title="Consultation",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                time_zone="UTC",
                location="Online",
                invitees=[InviteeIn(name="Private person", email="person@example.org")],
            ),
            actor=SYSTEM,
        )
    from worker.events import relay_events

    relay_events.send()  # written through the service, so nothing nudged the relay
    await _run_worker()
    assert len(receiver.requests) == 1 and b"person@example.org" not in receiver.requests[0]["body"]
    feed = await integrator.get("/v1/events", params={"type": "meeting.*"})
    assert "Consultation" in feed.text and "person@example.org" not in feed.text
    assert "person@example.org" in (await admin.get("/v1/events", params={"type": "meeting.*"})).text
    await admin.aclose()
    await integrator.aclose()
