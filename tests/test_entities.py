"""Entities: acronyms, identifiers, offices, deletion rules."""

from datetime import date

import pytest
from sqlalchemy import func, select

from services.entities.models import EntityKind
from services.entities.schemas import EntityUpdate
from services.entities.service import delete_entity, update_entity
from services.errors import Conflict
from services.events.models import Event
from services.memberships.models import MembershipTier
from services.principals import SYSTEM
from tests.factories import make_entity, make_membership, make_network


async def test_create_read_update_an_entity(client):
    created = await client.post(
        "/v1/entities",
        json={
            "acronym": "UNHCR",
            "name": "Office of the United Nations High Commissioner for Refugees",
            "kind": "un_system",
            "website": "https://www.unhcr.org",
            "identifiers": [{"scheme": "iati", "value": "XM-DAC-41121"}],
        },
    )
    assert created.status_code == 201
    entity = created.json()
    assert entity["un_system"] is True
    assert created.headers["location"] == f"/v1/entities/{entity['id']}"
    assert entity["identifiers"] == [{"scheme": "iati", "value": "XM-DAC-41121"}]
    fetched = await client.get(f"/v1/entities/{entity['id']}")
    assert fetched.json() == entity
    assert fetched.headers["etag"] == created.headers["etag"]
    updated = await client.patch(
        f"/v1/entities/{entity['id']}",
        json={"contact_email": "focal@unhcr.example", "identifiers": []},
        headers={"If-Match": fetched.headers["etag"]},
    )
    assert updated.status_code == 200
    assert updated.json()["contact_email"] == "focal@unhcr.example"
    assert updated.json()["identifiers"] == []
    assert updated.headers["etag"] != fetched.headers["etag"]


async def test_acronyms_are_unique_whatever_the_case(client, session):
    await make_entity(session, acronym="IOM")
    response = await client.post("/v1/entities", json={"acronym": "iom", "name": "Another", "kind": "un_system"})
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/acronym-taken"


async def test_an_identifier_belongs_to_one_entity(client, session):
    await make_entity(session, identifiers=[{"scheme": "ror", "value": "03m2x1q45"}])
    response = await client.post(
        "/v1/entities",
        json={
            "acronym": "X1",
            "name": "X",
            "kind": "academia",
            "identifiers": [{"scheme": "ror", "value": "03m2x1q45"}],
        },
    )
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/identifier-taken"


async def test_offices_have_a_parent_without_cycles(client, session):
    hq = await make_entity(session, acronym="HQ")
    regional = await make_entity(session, acronym="HQ-RO", parent_id=hq["id"], office_level="regional")
    assert regional["parent_id"] == hq["id"]
    children = (await client.get("/v1/entities", params={"parent_id": str(hq["id"])})).json()["items"]
    assert [c["acronym"] for c in children] == ["HQ-RO"]
    etag = (await client.get(f"/v1/entities/{hq['id']}")).headers["etag"]
    cycle = await client.patch(
        f"/v1/entities/{hq['id']}", json={"parent_id": str(regional["id"])}, headers={"If-Match": etag}
    )
    assert cycle.status_code == 409
    assert cycle.json()["type"] == "/problems/parent-cycle"
    ngo_office = await client.post(
        "/v1/entities", json={"acronym": "NGO-1", "name": "NGO", "kind": "civil_society", "parent_id": str(hq["id"])}
    )
    assert ngo_office.json()["type"] == "/problems/parent-kind-mismatch"


async def test_an_entity_with_current_memberships_cannot_be_deleted(client, session):
    network = await make_network(session)
    entity = await make_entity(session)
    membership = await make_membership(session, network_id=network["id"], entity_id=entity["id"])
    with pytest.raises(Conflict) as refused:
        await delete_entity(session, entity_id=entity["id"], expected_version=None, actor=SYSTEM)
    assert refused.value.kind == "entity-has-current-memberships"
    response = await client.delete(f"/v1/entities/{entity['id']}")
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/entity-has-current-memberships"
    # Once ended, its history still keeps it.
    await client.post(f"/v1/memberships/{membership['id']}/end", json={"end_date": "2020-01-01"})
    response = await client.delete(f"/v1/entities/{entity['id']}")
    assert response.json()["type"] == "/problems/entity-in-use"
    assert (await client.get(f"/v1/entities/{entity['id']}")).status_code == 200


async def test_an_unused_entity_is_deleted_with_an_event(client, session):
    entity = await make_entity(session, identifiers=[{"scheme": "wikidata", "value": "Q123"}])
    assert (await client.delete(f"/v1/entities/{entity['id']}")).status_code == 204
    assert (await client.get(f"/v1/entities/{entity['id']}")).status_code == 404
    types = (
        await session.scalars(select(Event.type).where(Event.subject_id == entity["id"]).order_by(Event.position))
    ).all()
    assert types == ["entity.created", "entity.deleted"]


async def test_a_member_cannot_stop_being_un_system(session):
    network = await make_network(session)
    entity = await make_entity(session)
    await make_membership(
        session, network_id=network["id"], entity_id=entity["id"], tier=MembershipTier.CORE, start_date=date(2019, 1, 1)
    )
    with pytest.raises(Conflict) as refused:
        await update_entity(
            session,
            entity_id=entity["id"],
            data=EntityUpdate(kind=EntityKind.CIVIL_SOCIETY),
            expected_version=None,
            actor=SYSTEM,
        )
    assert refused.value.kind == "entity-has-current-memberships"


async def test_filters(client, session):
    await make_entity(session, acronym="UNX")
    await make_entity(session, acronym="CSO", kind=EntityKind.CIVIL_SOCIETY)
    un = (await client.get("/v1/entities", params={"un_system": "true"})).json()["items"]
    assert {e["acronym"] for e in un} >= {"UNX"} and "CSO" not in {e["acronym"] for e in un}
    cso = (await client.get("/v1/entities", params={"kind": "civil_society"})).json()["items"]
    assert [e["acronym"] for e in cso] == ["CSO"]
    by_acronym = (await client.get("/v1/entities", params={"acronym": "unx"})).json()["items"]
    assert [e["acronym"] for e in by_acronym] == ["UNX"]


async def test_a_patch_that_changes_nothing_writes_no_event(client, session):
    entity = await make_entity(session, acronym="SAME")
    count = select(func.count()).select_from(Event)
    before = await session.scalar(count)
    etag = (await client.get(f"/v1/entities/{entity['id']}")).headers["etag"]
    response = await client.patch(f"/v1/entities/{entity['id']}", json={"acronym": "SAME"}, headers={"If-Match": etag})
    assert response.status_code == 200
    assert response.headers["etag"] == etag
    assert await session.scalar(count) == before


async def test_the_list_filters_each_alone_and_together(client, session):
    """Every filter of GET /v1/entities (the list's statements are built once per combination)."""
    iom = await make_entity(session, acronym="FltIOM", country_code="CH")
    office = await make_entity(session, acronym="FltIOM-KE", parent_id=iom["id"], country_code="KE")
    ngo = await make_entity(session, acronym="FltNGO", kind=EntityKind.CIVIL_SOCIETY, country_code="KE")

    async def ids(query: str) -> set[str]:
        response = await client.get(f"/v1/entities?limit=200&{query}")
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]} & {str(r["id"]) for r in (iom, office, ngo)}

    assert await ids("kind=civil_society") == {str(ngo["id"])}
    assert await ids("un_system=true") == {str(iom["id"]), str(office["id"])}
    assert await ids("un_system=false") == {str(ngo["id"])}
    assert await ids(f"parent_id={iom['id']}") == {str(office["id"])}
    assert await ids("acronym=fltiom") == {str(iom["id"])}
    assert await ids("country_code=KE") == {str(office["id"]), str(ngo["id"])}
    assert await ids("country_code=KE&un_system=true") == {str(office["id"])}
    assert await ids("country_code=KE&kind=un_system&un_system=false") == set()
    first = await client.get("/v1/entities?limit=1&country_code=KE")
    second = await client.get(first.headers["link"].split(">")[0].lstrip("<"))
    assert {first.json()["items"][0]["id"], second.json()["items"][0]["id"]} == {str(office["id"]), str(ngo["id"])}
