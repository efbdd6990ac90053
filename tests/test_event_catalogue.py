"""The event catalogue: every type appended is in it, every payload matches its schema, and
what reads types reads them there — webhook filters and the change feed refuse a type that
does not exist (naming the nearest), GET /v1/event-types lists them, the OpenAPI document
describes each delivery, and the mail composer writes every mailed type."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from openapi_spec_validator import validate
from sqlalchemy import select

from services.events.catalogue import CATALOGUE, mailed
from services.events.models import Event
from services.events.service import append_event
from services.locales import LANGUAGES, localizer
from services.mail.compose import compose
from services.principals import SYSTEM
from tests.factories import make_entity
from tests.read_world import read_world
from tests.served_app import served_app
from tests.webhook_receiver import Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _unknown_type_problem(response, *, near: str, location: str) -> dict:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/unknown-event-type"
    assert f"did you mean {near}?" in body["detail"]
    assert [e["location"] for e in body["errors"]] == [location]
    assert f"did you mean {near}?" in body["errors"][0]["detail"]
    return body


async def test_a_webhook_endpoint_cannot_subscribe_to_a_type_that_does_not_exist(client, receiver):
    typo = await client.post(
        "/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["entity.*", "memberships.created"]}
    )
    body = _unknown_type_problem(typo, near="membership.created", location="body.event_types.1")
    assert body["errors"][0]["pointer"] == "#/event_types/1"
    family = await client.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["metting.*"]})
    _unknown_type_problem(family, near="meeting.*", location="body.event_types.0")
    assert (await client.get("/v1/webhook-endpoints")).json()["items"] == []

    endpoint = (await client.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["*"]})).json()
    url = f"/v1/webhook-endpoints/{endpoint['id']}"
    changed = await client.patch(url, json={"event_types": ["mou.signd"]}, headers={"If-Match": '"1"'})
    _unknown_type_problem(changed, near="mou.signed", location="body.event_types.0")
    changed = await client.patch(url, json={"event_types": ["membership.*"]}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert changed.json()["event_types"] == ["membership.*"]


async def test_the_change_feed_refuses_a_type_that_does_not_exist(client):
    refused = await client.get("/v1/events", params={"type": ["entity.*", "entity.craeted"]})
    body = _unknown_type_problem(refused, near="entity.created", location="query.type.1")
    assert body["errors"][0]["parameter"] == "type"
    assert (await client.get("/v1/events", params={"type": ["entity.created", "meeting.*"]})).status_code == 200


@pytest.mark.parametrize("role", ["admin", "focal_point", "integrator", "reader"])
async def test_every_role_reads_the_whole_catalogue(make_client, session, role):
    entity = await make_entity(session)
    caller = await make_client(role, entity_id=entity["id"] if role == "focal_point" else None)
    response = await caller.get("/v1/event-types")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["name"] for item in items] == list(CATALOGUE)
    tier_changed = next(item for item in items if item["name"] == "membership.tier_changed")
    assert tier_changed["label"] == "Membership tier changed" and tier_changed["visibility"] == "public"
    assert {"membership", "previous", "from_tier", "to_tier"} <= set(tier_changed["payload_schema"]["properties"])
    key = next(item for item in items if item["name"] == "api_key.created")
    assert key["visibility"] == "admin_and_owner"
    assert (await (await make_client(None)).get("/v1/event-types")).status_code == 401


def test_the_openapi_document_describes_each_types_webhook():
    document = served_app().openapi()
    validate(document)
    webhooks = document["webhooks"]
    assert sorted(webhooks) == sorted(CATALOGUE)
    post = webhooks["membership.created"]["post"]
    assert {p["name"] for p in post["parameters"]} == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    envelope = post["requestBody"]["content"]["application/json"]["schema"]
    assert envelope["required"] == ["type", "timestamp", "data"]
    assert envelope["properties"]["type"] == {"const": "membership.created"}
    assert {"$ref": "#/components/schemas/MembershipPayload"} in envelope["properties"]["data"]["anyOf"]
    assert "200" in post["responses"]


async def test_a_type_not_in_the_catalogue_is_not_appended(session):
    with pytest.raises(ValueError, match="not in the catalogue"):
        await append_event(
            session,
            type="membership.renamed",
            subject_type="membership",
            subject_id=uuid.uuid4(),
            actor=SYSTEM,
            payload={},
        )


async def test_every_event_of_the_test_world_matches_its_payload_schema(client, session, receiver):
    """The demo network and the read world, plus changes that only a user makes: every
    stored payload (as JSON, as the feed and webhooks serve it) validates."""
    ids = await read_world(client, session, receiver)
    entity = (await client.get(f"/v1/entities/{ids['entity_id']}")).json()
    changed = await client.patch(
        f"/v1/entities/{entity['id']}", json={"website": "https://www.iom.int/x"}, headers={"If-Match": "*"}
    )
    assert changed.status_code == 200, changed.text
    for call in (
        client.post(f"/v1/webhook-endpoints/{ids['endpoint_id']}/rotate-secret"),
        client.patch(
            f"/v1/webhook-endpoints/{ids['endpoint_id']}", json={"description": "x"}, headers={"If-Match": "*"}
        ),
        client.delete(f"/v1/webhook-endpoints/{ids['endpoint_id']}"),
        client.post(f"/v1/api-keys/{ids['key_id']}/revoke"),
        client.post(f"/v1/calendar-subscriptions/{ids['subscription_id']}/revoke"),
    ):
        response = await call
        assert response.status_code < 300, response.text
    events = (await session.execute(select(Event.type, Event.payload))).all()
    seen = set()
    for event_type, payload in events:
        assert event_type in CATALOGUE, event_type
        CATALOGUE[event_type].payload.model_validate(payload)
        seen.add(event_type)
    # a broad sample: every domain's creation, and changes of several kinds
    assert {"entity.created", "entity.updated", "membership.created", "mou.signed", "meeting.held"} <= seen, seen
    assert {"webhook_endpoint.deleted", "api_key.revoked", "calendar_subscription.revoked"} <= seen, seen
    assert len({CATALOGUE[t].domain for t in seen}) >= 10, seen


# One record of each kind a mailed type's message reads, as a payload carries it.
_ENTITY = {"id": str(uuid.uuid4()), "name": "International Organization for Migration", "acronym": "IOM"}
_STARTS = datetime.now(UTC) + timedelta(days=7)
_SAMPLES = {
    "meeting": {
        "id": str(uuid.uuid4()),
        "network_id": str(uuid.uuid4()),
        "title": "Extended membership 2027",
        "starts_at": _STARTS.isoformat(),
        "ends_at": (_STARTS + timedelta(hours=3)).isoformat(),
        "updated_at": _STARTS.isoformat(),
        "time_zone": "Europe/Zurich",
        "location": "Geneva",
        "online_url": None,
        "agenda": [{"title": "Work plan"}],
        "invitees": [],
        "sequence": 0,
        "status": "scheduled",
    },
    "minutes_before": 1440,
    "changes": {"starts_at": {"before": (_STARTS - timedelta(days=7)).isoformat(), "after": _STARTS.isoformat()}},
    "compliance": {"due_by": "2027-03-01"},
    "post": {
        "role": "coordinator",
        "entity": {"id": str(uuid.uuid4()), "acronym": "ECLAC", "name": "Economic Commission for Latin America"},
        "start_date": "2020-02-01",
        "end_date": "2030-06-30",
        "end_reason": "Term over.",
    },
    "mou": {
        "id": str(uuid.uuid4()),
        "title": "Data sharing",
        "reference_number": "MOU-2024-001",
        "review_due_date": "2027-01-31",
    },
    "review": {
        "id": str(uuid.uuid4()),
        "number": 2,
        "period_start": "2025-01-01",
        "due_date": "2026-12-31",
        "status": "scheduled",
    },
    "days_before": 7,
    "recommendation": {
        "id": str(uuid.uuid4()),
        "review_id": str(uuid.uuid4()),
        "owner_entity": _ENTITY,
        "text": "Convene the extended tier twice a year.",
        "due_date": "2027-06-30",
        "status": "open",
    },
    "webhook_endpoint": {"url": "https://hooks.example.org/x"},
    "activity": {
        "id": str(uuid.uuid4()),
        "workplan_id": str(uuid.uuid4()),
        "title": "Guidance on labour migration",
        "end_date": "2024-12-31",
        "status": "ongoing",
    },
    "pledge": {
        "id": str(uuid.uuid4()),
        "title": "Regular pathways",
        "due_date": "2027-05-01",
        "status": "announced",
        "pledger_entity": None,
    },
    "reason": "the endpoint answered 410 Gone",
    "owner_principal_id": "key:x",
}


def test_the_mail_composer_writes_every_mailed_type():
    """In each of the six languages, from the catalogues (every subject and summary is in each
    one), with no link a person cannot open: no API address anywhere in the message."""
    kinds = set()
    for event_type in mailed():
        assert event_type.mail is not None
        payload = {member: _SAMPLES[member] for member in event_type.payload.model_fields if member in _SAMPLES}
        event = Event(type=event_type.name, subject_type=event_type.domain, subject_id=uuid.uuid4(), payload=payload)
        for language in LANGUAGES:
            loc = localizer(language)
            assert loc.translated(event_type.mail.subject) and loc.translated(event_type.mail.summary), (
                event_type.name,
                language,
            )
            message = compose(
                event,
                "someone@example.org",
                event_type.mail.kind,
                record_base_url="https://registry.example",
                loc=loc,
            )
            assert message["Subject"] and "{" not in message["Subject"], event_type.name
            assert message["Content-Language"] == language
            for kind in ("plain", "html"):
                body = message.get_body((kind,))
                assert body is not None and body.get_content().strip() and "{" not in body.get_content(), (
                    event_type.name
                )
                assert "/v1/" not in body.get_content() and "registry.example" not in body.get_content(), (
                    event_type.name,
                    language,
                )
        kinds.add(event_type.mail.kind)
    assert kinds == {"invitation", "cancellation", "reminder", "alert", "notice"}
    unmailed = Event(type="entity.created", subject_type="entity", subject_id=uuid.uuid4(), payload={})
    with pytest.raises(ValueError):
        compose(unmailed, "someone@example.org", "notice", record_base_url="https://registry.example")
