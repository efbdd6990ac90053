"""Merge-patch updates: what may change, what may not, and the events they write."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, text

from services.database import get_database
from services.events.models import Event
from services.idempotency.service import purge_expired_keys
from services.memberships.models import MembershipTier
from services.networks.models import NetworkScope
from services.seed import load_initial_data
from tests.factories import make_entity, make_membership, make_network


async def _patch(client, url, body):
    etag = (await client.get(url)).headers["etag"]
    return await client.patch(url, json=body, headers={"If-Match": etag})


async def test_a_core_membership_keeps_its_statements(client, session):
    network = await make_network(session)
    entity = await make_entity(session)
    membership = await make_membership(
        session, network_id=network["id"], entity_id=entity["id"], tier=MembershipTier.CORE
    )
    response = await _patch(client, f"/v1/memberships/{membership['id']}", {"capacity": None})
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/core-needs-relevance-and-capacity"
    response = await _patch(
        client, f"/v1/memberships/{membership['id']}", {"capacity": "A regional office in every region."}
    )
    assert response.status_code == 200
    assert response.json()["capacity"] == "A regional office in every region."


async def test_moving_a_start_date_respects_the_period_rules(client, session):
    network = await make_network(session)
    entity = await make_entity(session)
    await make_membership(
        session,
        network_id=network["id"],
        entity_id=entity["id"],
        start_date=date(2019, 1, 1),
        end_date=date(2019, 12, 31),
    )
    later = await make_membership(
        session,
        network_id=network["id"],
        entity_id=entity["id"],
        start_date=date(2021, 1, 1),
        end_date=date(2021, 6, 30),
    )
    url = f"/v1/memberships/{later['id']}"
    assert (await _patch(client, url, {"start_date": "2019-06-01"})).json()["type"] == "/problems/membership-overlap"
    assert (await _patch(client, url, {"start_date": "2021-07-01"})).json()["type"] == "/problems/invalid-period"
    moved = await _patch(client, url, {"start_date": "2020-03-01"})
    assert moved.status_code == 200
    assert moved.json()["start_date"] == "2020-03-01"
    assert (await _patch(client, url, {"start_date": None})).json()["type"] == "/problems/required-field"


async def test_network_updates_keep_scope_fields_and_record_changes(client, session):
    global_network = await make_network(session)
    regional = await make_network(
        session,
        scope=NetworkScope.REGIONAL,
        region="ESCWA",
        parent_network_id=global_network["id"],
        name="Arab States network",
    )
    url = f"/v1/networks/{regional['id']}"
    assert (await _patch(client, url, {"region": None})).json()["type"] == "/problems/required-field"
    renamed = await _patch(client, url, {"name": "Regional UN Network on Migration for the Arab States"})
    assert renamed.status_code == 200
    payload = await session.scalar(
        select(Event.payload).where(Event.subject_id == regional["id"], Event.type == "network.updated")
    )
    assert payload["changes"]["name"]["after"] == "Regional UN Network on Migration for the Arab States"
    missing = "00000000-0000-7000-8000-000000000000"
    response = await client.patch(f"/v1/networks/{missing}", json={"name": "X"}, headers={"If-Match": '"1"'})
    assert response.status_code == 404


async def test_entity_identifier_changes_are_recorded_with_before_and_after(client, session):
    entity = await make_entity(session, acronym="IDS", identifiers=[{"scheme": "iati", "value": "XM-DAC-90001"}])
    other = await make_entity(session, acronym="OTHER")
    response = await _patch(
        client, f"/v1/entities/{entity['id']}", {"identifiers": [{"scheme": "ror", "value": "0abcdef12"}]}
    )
    assert response.status_code == 200
    payload = await session.scalar(
        select(Event.payload).where(Event.subject_id == entity["id"], Event.type == "entity.updated")
    )
    assert payload["changes"]["identifiers"] == {
        "before": [{"scheme": "iati", "value": "XM-DAC-90001"}],
        "after": [{"scheme": "ror", "value": "0abcdef12"}],
    }
    clash = await _patch(client, f"/v1/entities/{other['id']}", {"acronym": "ids"})
    assert clash.json()["type"] == "/problems/acronym-taken"
    twice = await _patch(
        client, f"/v1/entities/{other['id']}", {"identifiers": [{"scheme": "ror", "value": "0abcdeg12"}] * 2}
    )
    assert twice.json()["type"] == "/problems/duplicate-identifier"


async def test_a_stakeholder_may_change_kind_when_not_a_member(client, session):
    entity = await make_entity(session, acronym="SWITCH")
    response = await _patch(client, f"/v1/entities/{entity['id']}", {"kind": "academia"})
    assert response.status_code == 200
    assert response.json()["un_system"] is False


async def test_expired_idempotency_keys_are_forgotten(session):
    await session.execute(
        text(
            "INSERT INTO idempotency_keys (principal_id, key, fingerprint, created_at) VALUES ('p', 'old', 'f', :at), ('p', 'new', 'f', now())"
        ),
        {"at": datetime.now(UTC) - timedelta(days=2)},
    )
    assert await purge_expired_keys(session, now=datetime.now(UTC)) == 1
    remaining = (await session.scalars(text("SELECT key FROM idempotency_keys WHERE principal_id = 'p'"))).all()
    assert remaining == ["new"]


async def test_initial_data_loads_reference_and_demo_data(committed):
    database = get_database()
    await load_initial_data(database, demo=True)
    await load_initial_data(database, demo=True)
    async with database.read() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM gcm_objectives")) == 23
        # The global Network and two regional networks, loaded once.
        assert await conn.scalar(text("SELECT count(*) FROM networks WHERE is_demo")) == 3
        assert await conn.scalar(select(func.count()).select_from(Event).where(Event.type == "network.created")) == 3
