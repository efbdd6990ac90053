"""Membership rules (docs/DOMAIN.md), each at the service level and through HTTP."""

from datetime import date

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from services.clock import clock
from services.entities.models import EntityKind
from services.errors import Conflict, InvalidInput
from services.events.models import Event
from services.flows.membership_end import end_membership
from services.memberships.models import Membership, MembershipTier
from services.memberships.schemas import MembershipCreate, MembershipEnd, TierChange
from services.memberships.service import change_tier, create_membership
from services.principals import SYSTEM
from tests.factories import make_entity, make_membership, make_network


@pytest.fixture
async def network(session):
    return await make_network(session)


# --- only UN-system entities are members -------------------------------------------------


async def test_service_refuses_a_non_un_entity(session, network):
    ngo = await make_entity(session, kind=EntityKind.CIVIL_SOCIETY)
    with pytest.raises(Conflict) as refused:
        await make_membership(session, network_id=network["id"], entity_id=ngo["id"])
    assert refused.value.kind == "entity-not-un-system"


async def test_http_refuses_a_non_un_entity_with_a_problem(client, session, network):
    state = await make_entity(session, kind=EntityKind.MEMBER_STATE)
    response = await client.post(
        f"/v1/networks/{network['id']}/memberships",
        json={"entity_id": str(state["id"]), "tier": "extended", "start_date": "2020-01-01"},
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/entity-not-un-system"
    assert "only UN-system entities" in response.json()["detail"]


# --- core records mandate-driven relevance and capacity -----------------------------------


async def test_service_refuses_core_without_relevance_and_capacity(session, network):
    entity = await make_entity(session)
    # model_construct skips the schema's own check, so this proves the service enforces it
    data = MembershipCreate.model_construct(
        network_id=None,
        entity_id=entity["id"],
        tier=MembershipTier.CORE,
        start_date=date(2020, 1, 1),
        end_date=None,
        mandate_relevance="Relevant.",
        capacity=None,
        notes=None,
    )
    with pytest.raises(InvalidInput) as refused:
        await create_membership(session, network_id=network["id"], data=data, actor=SYSTEM)
    assert refused.value.kind == "core-needs-relevance-and-capacity"


async def test_http_core_without_capacity_is_a_422(client, session, network):
    entity = await make_entity(session)
    response = await client.post(
        f"/v1/networks/{network['id']}/memberships",
        json={
            "entity_id": str(entity["id"]),
            "tier": "core",
            "start_date": "2020-01-01",
            "mandate_relevance": "Relevant.",
        },
    )
    assert response.status_code == 422
    assert "capacity" in response.json()["detail"]


async def test_database_refuses_core_without_statements(session, network):
    entity = await make_entity(session)
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await session.execute(
                text(
                    "INSERT INTO memberships (id, network_id, entity_id, tier, start_date) "
                    "VALUES (gen_random_uuid(), :n, :e, 'core', '2020-01-01')"
                ),
                {"n": network["id"], "e": entity["id"]},
            )


# --- one current membership per (network, entity) ----------------------------------------


async def test_service_refuses_a_second_current_membership(session, network):
    entity = await make_entity(session)
    await make_membership(session, network_id=network["id"], entity_id=entity["id"])
    with pytest.raises(Conflict) as refused:
        await make_membership(session, network_id=network["id"], entity_id=entity["id"], start_date=date(2021, 1, 1))
    assert refused.value.kind == "membership-overlap"


async def test_http_second_membership_is_a_409_and_past_periods_may_coexist(client, session, network):
    entity = await make_entity(session)
    url = f"/v1/networks/{network['id']}/memberships"
    past = {"entity_id": str(entity["id"]), "tier": "extended", "start_date": "2019-01-01", "end_date": "2019-12-31"}
    assert (await client.post(url, json=past)).status_code == 201
    again = {"entity_id": str(entity["id"]), "tier": "extended", "start_date": "2020-01-01"}
    assert (await client.post(url, json=again)).status_code == 201
    overlapping = {
        "entity_id": str(entity["id"]),
        "tier": "extended",
        "start_date": "2019-06-01",
        "end_date": "2019-07-01",
    }
    response = await client.post(url, json=overlapping)
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/membership-overlap"


async def test_database_trigger_refuses_overlapping_periods(session, network):
    entity = await make_entity(session)
    await make_membership(
        session,
        network_id=network["id"],
        entity_id=entity["id"],
        start_date=date(2019, 1, 1),
        end_date=date(2019, 12, 31),
    )
    with pytest.raises(IntegrityError) as refused:
        async with session.begin_nested():
            await session.execute(
                text(
                    "INSERT INTO memberships (id, network_id, entity_id, tier, start_date, end_date) "
                    "VALUES (gen_random_uuid(), :n, :e, 'extended', '2019-06-01', '2020-06-01')"
                ),
                {"n": network["id"], "e": entity["id"]},
            )
    assert "overlap" in str(refused.value)


# --- end_date >= start_date --------------------------------------------------------------


async def test_service_refuses_an_end_before_the_start(session, network):
    entity = await make_entity(session)
    membership = await make_membership(
        session, network_id=network["id"], entity_id=entity["id"], start_date=date(2020, 5, 1)
    )
    with pytest.raises(InvalidInput) as refused:
        await end_membership(
            session,
            membership_id=membership["id"],
            data=MembershipEnd(end_date=date(2020, 4, 30)),
            expected_version=None,
            actor=SYSTEM,
        )
    assert refused.value.kind == "invalid-period"


async def test_http_end_before_start_is_a_422_and_changes_nothing(client, session, network):
    entity = await make_entity(session)
    membership = await make_membership(
        session, network_id=network["id"], entity_id=entity["id"], start_date=date(2020, 5, 1)
    )
    response = await client.post(f"/v1/memberships/{membership['id']}/end", json={"end_date": "2020-01-01"})
    assert response.status_code == 422
    assert (await client.get(f"/v1/memberships/{membership['id']}")).json()["end_date"] is None
    body = {"entity_id": str(entity["id"]), "tier": "extended", "start_date": "2021-01-01", "end_date": "2020-01-01"}
    assert (await client.post(f"/v1/networks/{network['id']}/memberships", json=body)).status_code == 422


# --- the coordinator stays a current core member -----------------------------------------


async def _coordinator_membership(session, network):
    return await session.scalar(
        select(Membership).where(
            Membership.network_id == network["id"], Membership.entity_id == network["coordinator"]["id"]
        )
    )


async def test_service_refuses_to_end_the_coordinator(session, network):
    coordinator = await _coordinator_membership(session, network)
    with pytest.raises(Conflict) as refused:
        await end_membership(
            session,
            membership_id=coordinator.id,
            data=MembershipEnd(end_date=date(2025, 1, 1)),
            expected_version=None,
            actor=SYSTEM,
        )
    assert refused.value.kind == "coordinator-must-remain-core"


async def test_service_refuses_to_move_the_coordinator_to_extended(session, network):
    coordinator = await _coordinator_membership(session, network)
    with pytest.raises(Conflict) as refused:
        await change_tier(
            session,
            membership_id=coordinator.id,
            data=TierChange(tier=MembershipTier.EXTENDED, effective_date=date(2025, 1, 1)),
            expected_version=None,
            actor=SYSTEM,
        )
    assert refused.value.kind == "coordinator-must-remain-core"


async def test_http_coordinator_end_and_demotion_are_409(client, session, network):
    coordinator = await _coordinator_membership(session, network)
    ended = await client.post(f"/v1/memberships/{coordinator.id}/end", json={"end_date": "2025-01-01"})
    assert ended.status_code == 409
    demoted = await client.post(
        f"/v1/memberships/{coordinator.id}/change-tier", json={"tier": "extended", "effective_date": "2025-01-01"}
    )
    assert demoted.status_code == 409
    assert demoted.json()["type"] == "/problems/coordinator-must-remain-core"


async def test_http_coordinator_can_leave_after_a_new_coordinator_is_appointed(client, session, network):
    successor = await make_entity(session)
    await make_membership(session, network_id=network["id"], entity_id=successor["id"], tier=MembershipTier.CORE)
    etag = (await client.get(f"/v1/networks/{network['id']}")).headers["etag"]
    appointed = await client.patch(
        f"/v1/networks/{network['id']}",
        json={"coordinator_entity_id": str(successor["id"])},
        headers={"If-Match": etag},
    )
    assert appointed.status_code == 200
    assert appointed.json()["secretariat"]["id"] == str(successor["id"])
    old = await _coordinator_membership(session, network)
    # The old coordinator's posts ended yesterday: its membership may end from then, not before.
    yesterday = clock.today().fromordinal(clock.today().toordinal() - 1)
    early = await client.post(f"/v1/memberships/{old.id}/end", json={"end_date": "2025-01-01"})
    assert early.status_code == 409 and "until" in early.json()["detail"]
    assert (await client.post(f"/v1/memberships/{old.id}/end", json={"end_date": str(yesterday)})).status_code == 200


# --- tier changes keep history; as_of answers who was a member ---------------------------


async def test_service_tier_change_closes_the_old_period_and_links_the_new(session, network):
    entity = await make_entity(session)
    first = await make_membership(
        session, network_id=network["id"], entity_id=entity["id"], start_date=date(2019, 1, 1)
    )
    second = await change_tier(
        session,
        membership_id=first["id"],
        data=TierChange(
            tier=MembershipTier.CORE,
            effective_date=date(2021, 7, 1),
            mandate_relevance="Mandate.",
            capacity="Capacity.",
        ),
        expected_version=None,
        actor=SYSTEM,
    )
    old = await session.get(Membership, first["id"])
    await session.refresh(old)
    assert old.end_date == date(2021, 6, 30)
    assert old.tier == MembershipTier.EXTENDED
    assert second["previous_membership_id"] == first["id"]
    assert second["tier"] == MembershipTier.CORE and second["start_date"] == date(2021, 7, 1)
    await session.flush()
    types = (await session.scalars(select(Event.type).where(Event.subject_id == second["id"]))).all()
    assert types == ["membership.tier_changed"]


async def test_http_as_of_answers_who_was_a_member_in_which_tier(client, session, network):
    early = await make_entity(session, acronym="EARLY")
    late = await make_entity(session, acronym="LATE")
    gone = await make_entity(session, acronym="GONE")
    await make_membership(session, network_id=network["id"], entity_id=early["id"], start_date=date(2019, 1, 15))
    await make_membership(session, network_id=network["id"], entity_id=late["id"], start_date=date(2020, 2, 1))
    await make_membership(
        session,
        network_id=network["id"],
        entity_id=gone["id"],
        start_date=date(2019, 1, 15),
        end_date=date(2019, 5, 31),
    )
    moved = (
        await client.get(f"/v1/networks/{network['id']}/memberships", params={"entity_id": str(early["id"])})
    ).json()["items"][0]
    response = await client.post(
        f"/v1/memberships/{moved['id']}/change-tier",
        json={"tier": "core", "effective_date": "2022-01-01", "mandate_relevance": "Mandate.", "capacity": "Capacity."},
    )
    assert response.status_code == 201

    async def members_on(day):
        page = await client.get(f"/v1/networks/{network['id']}/memberships", params={"as_of": day})
        return {m["entity"]["acronym"]: m["tier"] for m in page.json()["items"]}

    coordinator = network["coordinator"]["acronym"]
    assert await members_on("2019-06-01") == {coordinator: "core", "EARLY": "extended"}
    assert await members_on("2020-06-01") == {coordinator: "core", "EARLY": "extended", "LATE": "extended"}
    assert await members_on("2022-06-01") == {coordinator: "core", "EARLY": "core", "LATE": "extended"}
    assert await members_on("2018-01-01") == {}


async def test_http_current_filter_uses_today(client, session, network):
    entity = await make_entity(session, acronym="LEFT")
    await make_membership(
        session,
        network_id=network["id"],
        entity_id=entity["id"],
        start_date=date(2019, 1, 1),
        end_date=date(2020, 12, 31),
    )
    clock.freeze(clock.now().replace(year=2020, month=6, day=1))
    current = (
        await client.get("/v1/memberships", params={"network_id": str(network["id"]), "current": "true"})
    ).json()["items"]
    assert "LEFT" in {m["entity"]["acronym"] for m in current}
    clock.freeze(clock.now().replace(year=2021, month=1, day=1))
    current = (
        await client.get("/v1/memberships", params={"network_id": str(network["id"]), "current": "true"})
    ).json()["items"]
    assert "LEFT" not in {m["entity"]["acronym"] for m in current}
    former = (
        await client.get("/v1/memberships", params={"network_id": str(network["id"]), "current": "false"})
    ).json()["items"]
    assert {m["entity"]["acronym"] for m in former} == {"LEFT"}


async def test_http_tier_is_changed_by_action_not_patch(client, session, network):
    entity = await make_entity(session)
    membership = await make_membership(session, network_id=network["id"], entity_id=entity["id"])
    etag = (await client.get(f"/v1/memberships/{membership['id']}")).headers["etag"]
    response = await client.patch(
        f"/v1/memberships/{membership['id']}", json={"tier": "core"}, headers={"If-Match": etag}
    )
    assert response.status_code == 422
    assert "change-tier" in response.json()["detail"]


async def test_tier_change_refusals(client, session, network):
    entity = await make_entity(session)
    membership = await make_membership(
        session, network_id=network["id"], entity_id=entity["id"], start_date=date(2020, 1, 1)
    )
    url = f"/v1/memberships/{membership['id']}/change-tier"
    same = await client.post(url, json={"tier": "extended", "effective_date": "2021-01-01"})
    assert same.json()["type"] == "/problems/tier-unchanged"
    early = await client.post(
        url, json={"tier": "core", "effective_date": "2020-01-01", "mandate_relevance": "M.", "capacity": "C."}
    )
    assert early.json()["type"] == "/problems/tier-change-before-start"
    bare = await client.post(url, json={"tier": "core", "effective_date": "2021-01-01"})
    assert bare.status_code == 422
    assert (
        await client.post(f"/v1/memberships/{membership['id']}/end", json={"end_date": "2021-01-01"})
    ).status_code == 200
    ended = await client.post(
        url, json={"tier": "core", "effective_date": "2022-01-01", "mandate_relevance": "M.", "capacity": "C."}
    )
    assert ended.json()["type"] == "/problems/membership-ended"
    again = await client.post(f"/v1/memberships/{membership['id']}/end", json={"end_date": "2021-02-01"})
    assert again.json()["type"] == "/problems/membership-already-ended"


# --- events are written with the change, and only with it --------------------------------


async def test_every_change_writes_its_event_in_the_same_transaction(client, session, network):
    entity = await make_entity(session)
    before = await session.scalar(select(func.count()).select_from(Event))
    created = await client.post(
        f"/v1/networks/{network['id']}/memberships",
        json={"entity_id": str(entity["id"]), "tier": "extended", "start_date": "2020-01-01"},
    )
    membership_id = created.json()["id"]
    etag = created.headers["etag"]
    await client.patch(
        f"/v1/memberships/{membership_id}", json={"notes": "Joined at the regional review."}, headers={"If-Match": etag}
    )
    await client.post(
        f"/v1/memberships/{membership_id}/end", json={"end_date": "2024-12-31", "reason": "Mandate changed."}
    )
    events = (
        await session.execute(
            select(Event.type, Event.network_id, Event.payload)
            .where(Event.subject_id == created.json()["id"])
            .order_by(Event.position)
        )
    ).all()
    assert [e.type for e in events] == ["membership.created", "membership.updated", "membership.ended"]
    assert all(str(e.network_id) == str(network["id"]) for e in events)
    assert events[1].payload["changes"]["notes"] == {"before": None, "after": "Joined at the regional review."}
    assert await session.scalar(select(func.count()).select_from(Event)) == before + 3
    assert client.app.state.relay_nudges  # the API nudged the relay after commit


async def test_a_refused_change_leaves_no_record_and_no_event(client, session, network):
    entity = await make_entity(session)
    await make_membership(session, network_id=network["id"], entity_id=entity["id"])
    count_memberships = select(func.count()).select_from(Membership)
    count_events = select(func.count()).select_from(Event)
    before = (await session.scalar(count_memberships), await session.scalar(count_events))
    response = await client.post(
        f"/v1/networks/{network['id']}/memberships",
        json={"entity_id": str(entity["id"]), "tier": "extended", "start_date": "2021-01-01"},
    )
    assert response.status_code == 409
    assert (await session.scalar(count_memberships), await session.scalar(count_events)) == before


async def test_unknown_network_and_entity(client, session, network):
    entity = await make_entity(session)
    missing = "00000000-0000-7000-8000-000000000000"
    body = {"entity_id": str(entity["id"]), "tier": "extended", "start_date": "2020-01-01"}
    assert (await client.post(f"/v1/networks/{missing}/memberships", json=body)).status_code == 404
    assert (await client.get(f"/v1/networks/{missing}/memberships")).status_code == 404
    response = await client.post("/v1/memberships", json={**body, "network_id": missing})
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/reference-not-found"
    response = await client.post(f"/v1/networks/{network['id']}/memberships", json={**body, "entity_id": missing})
    assert response.json()["type"] == "/problems/reference-not-found"
    assert (await client.post("/v1/memberships", json=body)).json()["type"] == "/problems/network-required"
