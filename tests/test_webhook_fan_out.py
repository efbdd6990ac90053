"""Fan-out with many subscribers: every enabled endpoint whose filter matches gets its own
delivery, with its own webhook-id, received and verified by a real receiver per endpoint
(standardwebhooks); endpoint and key events reach only admins and their owners."""

from collections import defaultdict
from datetime import datetime

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from services.database import get_database
from services.webhooks.models import WebhookDelivery
from tests.conftest import committed_admin_key
from tests.served_app import served_app
from tests.stub_worker import broker, drain
from tests.webhook_receiver import Receiver

ENDPOINTS = {
    # name: (owner, event types)
    "all": ("admin", ["*"]),
    "network_family": ("integrator_a", ["network.*", "webhook_endpoint.*"]),
    "exact": ("integrator_a", ["entity.created", "membership.created"]),
    "disabled": ("admin", ["*"]),
    "other_owner": ("integrator_b", ["*"]),
    "wants_nothing": ("integrator_b", ["mou.terminated"]),
}

# Who gets which event type of the sequence below, endpoint by endpoint.
EXPECTED = {
    "entity.created": {"all", "exact", "other_owner"},
    "network.created": {"all", "network_family", "other_owner"},
    "network.post_appointed": {"all", "network_family", "other_owner"},  # its coordinator's two posts
    "membership.created": {"all", "exact", "other_owner"},
    "entity.updated": {"all", "other_owner"},
    "api_key.created": {"all"},  # keys are the secretariat's business
    "webhook_endpoint.updated": {"all", "network_family"},  # integrator A's endpoint: admins and A only
}


@pytest.fixture
async def subscribers(committed):
    receivers = {name: Receiver() for name in ENDPOINTS}
    admin_key = await committed_admin_key()
    clients: dict[str, AsyncClient] = {}

    def client_for(key: str) -> AsyncClient:
        return AsyncClient(
            transport=ASGITransport(app=served_app()), base_url="http://t", headers={"Authorization": f"Bearer {key}"}
        )

    clients["admin"] = client_for(admin_key)
    for owner in ("integrator_a", "integrator_b"):
        key = (await clients["admin"].post("/v1/api-keys", json={"name": owner, "role": "integrator"})).json()["key"]
        clients[owner] = client_for(key)
    yield receivers, clients
    for client in clients.values():
        await client.aclose()
    for receiver in receivers.values():
        receiver.close()


async def test_every_matching_endpoint_gets_each_event_once_under_its_own_id(subscribers):
    receivers, clients = subscribers
    admin = clients["admin"]
    endpoints = {}
    for name, (owner, types) in ENDPOINTS.items():
        created = await clients[owner].post(
            "/v1/webhook-endpoints", json={"url": receivers[name].url, "event_types": types}
        )
        assert created.status_code == 201, created.text
        endpoints[name] = created.json()
    etag = (await admin.get(f"/v1/webhook-endpoints/{endpoints['disabled']['id']}")).headers["etag"]
    disabled = await admin.patch(
        f"/v1/webhook-endpoints/{endpoints['disabled']['id']}", json={"enabled": False}, headers={"If-Match": etag}
    )
    assert disabled.status_code == 200, disabled.text
    await drain(threads=2)
    for receiver in receivers.values():  # what the set-up itself caused is not this test's matrix
        receiver.requests.clear()
    async with get_database().read() as conn:
        sequence_began = await conn.scalar(select(func.now()))

    # The sequence: two entities, a network, a membership, an edit, a key, an endpoint change.
    iom = (await admin.post("/v1/entities", json={"acronym": "IOMX", "name": "IOM", "kind": "un_system"})).json()
    ilo = (await admin.post("/v1/entities", json={"acronym": "ILOX", "name": "ILO", "kind": "un_system"})).json()
    network = await admin.post(
        "/v1/networks",
        json={
            "name": "Matrix Network",
            "scope": "global",
            "established_on": "2018-12-09",
            "coordinator": {"entity_id": iom["id"], "mandate_relevance": "Migration.", "capacity": "Secretariat."},
        },
    )
    assert network.status_code == 201, network.text
    joined = await admin.post(
        f"/v1/networks/{network.json()['id']}/memberships",
        json={"entity_id": ilo["id"], "tier": "extended", "start_date": "2020-01-01"},
    )
    assert joined.status_code == 201, joined.text
    etag = (await admin.get(f"/v1/entities/{ilo['id']}")).headers["etag"]
    assert (
        await admin.patch(f"/v1/entities/{ilo['id']}", json={"name": "ILO (renamed)"}, headers={"If-Match": etag})
    ).status_code == 200
    assert (await admin.post("/v1/api-keys", json={"name": "reader", "role": "reader"})).status_code == 201
    mine = f"/v1/webhook-endpoints/{endpoints['exact']['id']}"
    etag = (await clients["integrator_a"].get(mine)).headers["etag"]
    assert (
        await clients["integrator_a"].patch(mine, json={"description": "entities"}, headers={"If-Match": etag})
    ).status_code == 200
    await drain(threads=2)

    feed = (await admin.get("/v1/events", params={"limit": 200})).json()["items"]
    # The sequence's events: those of transactions that began after the set-up was done.
    events = [e for e in feed if datetime.fromisoformat(e["occurred_at"]) >= sequence_began]
    assert {e["type"] for e in events} == set(EXPECTED), "the sequence made other events than this test expects"
    expected: dict[str, set[str]] = defaultdict(set)
    for event in events:
        for name in EXPECTED[event["type"]]:
            expected[name].add(event["id"])

    seen_ids: list[str] = []
    for name, receiver in receivers.items():
        received = set()
        for request in receiver.requests:
            body = Webhook(endpoints[name]["secret"]).verify(request["body"], request["headers"])
            event = next(e for e in events if (e["type"], e["data"]) == (body["type"], body["data"]))
            received.add(event["id"])
            seen_ids.append(request["headers"]["webhook-id"])
        assert received == expected[name], name
        assert len(receiver.requests) == len(expected[name]), f"{name} got an event twice"
    assert len(seen_ids) == len(set(seen_ids)), "two deliveries shared a webhook-id"

    for name, endpoint in endpoints.items():
        log = (await clients[ENDPOINTS[name][0]].get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries")).json()
        ours = [d for d in log["items"] if d["event_id"] in {e["id"] for e in events}]
        assert {d["event_id"] for d in ours} == expected[name], name
        assert all(d["status"] == "succeeded" for d in ours), name

    # The indicators count the network's deliveries, one per endpoint.
    network_events = {e["id"] for e in events if e["network_id"] == network.json()["id"]}
    async with get_database().read() as conn:
        made = await conn.scalar(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.event_id.in_(network_events))
        )
    assert made == sum(len(expected[n] & network_events) for n in ENDPOINTS) > len(network_events)
    indicators = (await admin.get(f"/v1/networks/{network.json()['id']}/indicators")).json()
    assert indicators["notifications"]["webhook_deliveries"]["succeeded"] == made
    broker.flush_all()
