"""Networks: scope, parent, coordinator and secretariat."""

import pytest
from sqlalchemy import select

from services.entities.models import EntityKind
from services.errors import Conflict
from services.memberships.models import Membership, MembershipTier
from services.networks.models import NetworkScope
from services.networks.schemas import NetworkUpdate
from services.networks.service import update_network
from services.principals import SYSTEM
from tests.factories import make_entity, make_membership, make_network


async def test_creating_a_network_makes_its_coordinator_a_core_member(client, session):
    iom = await make_entity(session, acronym="IOM")
    response = await client.post(
        "/v1/networks",
        json={
            "name": "United Nations Network on Migration",
            "scope": "global",
            "established_on": "2018-12-09",
            "coordinator": {"entity_id": str(iom["id"]), "mandate_relevance": "Migration.", "capacity": "Secretariat."},
        },
    )
    assert response.status_code == 201, response.text
    network = response.json()
    assert network["coordinator"]["acronym"] == "IOM"
    assert network["secretariat"] == network["coordinator"]
    members = (await client.get(f"/v1/networks/{network['id']}/memberships")).json()["items"]
    assert [(m["entity"]["acronym"], m["tier"], m["start_date"]) for m in members] == [("IOM", "core", "2018-12-09")]


async def test_there_is_one_global_network(client, session):
    await make_network(session)
    other = await make_entity(session)
    response = await client.post(
        "/v1/networks",
        json={
            "name": "Another",
            "scope": "global",
            "established_on": "2020-01-01",
            "coordinator": {"entity_id": str(other["id"]), "mandate_relevance": "M.", "capacity": "C."},
        },
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/global-network-exists"


async def test_regional_and_country_networks_hang_under_the_right_parent(client, session):
    global_network = await make_network(session)
    coordinator = await make_entity(session)
    coordinator_in = {"entity_id": str(coordinator["id"]), "mandate_relevance": "M.", "capacity": "C."}
    no_parent = await client.post(
        "/v1/networks",
        json={
            "name": "R",
            "scope": "regional",
            "region": "ESCAP",
            "established_on": "2020-01-01",
            "coordinator": coordinator_in,
        },
    )
    assert no_parent.status_code == 422
    regional = await client.post(
        "/v1/networks",
        json={
            "name": "Asia-Pacific",
            "scope": "regional",
            "region": "ESCAP",
            "parent_network_id": str(global_network["id"]),
            "established_on": "2020-01-01",
            "coordinator": coordinator_in,
        },
    )
    assert regional.status_code == 201, regional.text
    country = await client.post(
        "/v1/networks",
        json={
            "name": "Thailand",
            "scope": "country",
            "country_code": "TH",
            "parent_network_id": regional.json()["id"],
            "established_on": "2021-01-01",
            "coordinator": coordinator_in,
        },
    )
    assert country.status_code == 201
    under_country = await client.post(
        "/v1/networks",
        json={
            "name": "Sub",
            "scope": "regional",
            "region": "ESCAP",
            "parent_network_id": country.json()["id"],
            "established_on": "2021-01-01",
            "coordinator": coordinator_in,
        },
    )
    assert under_country.status_code == 409
    assert under_country.json()["type"] == "/problems/invalid-parent-network"
    listed = (await client.get("/v1/networks", params={"parent_network_id": regional.json()["id"]})).json()["items"]
    assert [n["name"] for n in listed] == ["Thailand"]


async def test_a_network_is_coordinated_by_a_un_system_entity(client, session):
    ngo = await make_entity(session, kind=EntityKind.CIVIL_SOCIETY)
    response = await client.post(
        "/v1/networks",
        json={
            "name": "N",
            "scope": "global",
            "established_on": "2020-01-01",
            "coordinator": {"entity_id": str(ngo["id"]), "mandate_relevance": "M.", "capacity": "C."},
        },
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/entity-not-un-system"


async def test_a_new_coordinator_must_be_a_current_core_member(session):
    network = await make_network(session)
    extended = await make_entity(session)
    await make_membership(session, network_id=network["id"], entity_id=extended["id"], tier=MembershipTier.EXTENDED)
    with pytest.raises(Conflict) as refused:
        await update_network(
            session,
            network_id=network["id"],
            data=NetworkUpdate(coordinator_entity_id=extended["id"]),
            expected_version=None,
            actor=SYSTEM,
        )
    assert refused.value.kind == "coordinator-not-core"
    outsider = await make_entity(session)
    with pytest.raises(Conflict):
        await update_network(
            session,
            network_id=network["id"],
            data=NetworkUpdate(coordinator_entity_id=outsider["id"]),
            expected_version=None,
            actor=SYSTEM,
        )


async def test_scope_and_parent_are_fixed(client, session):
    network = await make_network(session)
    etag = (await client.get(f"/v1/networks/{network['id']}")).headers["etag"]
    response = await client.patch(
        f"/v1/networks/{network['id']}", json={"scope": "regional"}, headers={"If-Match": etag}
    )
    assert response.status_code == 422
    assert "read-only" in response.json()["detail"]


async def test_coordinator_membership_is_core_with_statements(session):
    network = await make_network(session, scope=NetworkScope.GLOBAL)
    membership = await session.scalar(select(Membership).where(Membership.network_id == network["id"]))
    assert membership.tier == MembershipTier.CORE
    assert membership.mandate_relevance and membership.capacity
