"""Working groups (docs/DOMAIN.md): chairs, seats, secretariat, lifecycle, and the cascade from
network membership."""

from datetime import date

import pytest
from sqlalchemy import func, select

from services.entities.models import EntityKind
from services.errors import Conflict
from services.events.models import Event
from services.flows.membership_end import end_membership
from services.memberships.models import Membership, MembershipTier
from services.memberships.schemas import MembershipEnd
from services.principals import SYSTEM
from services.working_groups.models import PostKind, WorkingGroupPost
from services.working_groups.schemas import PostCreate, WorkingGroupActivate, WorkingGroupCreate
from services.working_groups.service import activate_working_group, add_post, create_working_group
from tests.factories import make_entity, make_membership, make_network


@pytest.fixture
async def setting(session):
    network = await make_network(session)
    core = await make_entity(session, acronym="WG-CORE")
    extended = await make_entity(session, acronym="WG-EXT")
    await make_membership(
        session, network_id=network["id"], entity_id=core["id"], tier=MembershipTier.CORE, start_date=date(2019, 1, 1)
    )
    await make_membership(session, network_id=network["id"], entity_id=extended["id"], start_date=date(2019, 1, 1))
    return network, core, extended


async def _group(session, network, **fields):
    data = WorkingGroupCreate(
        network_id=network["id"],
        name=fields.pop("name", "Returns and reintegration"),
        slug=fields.pop("slug", "returns"),
        **fields,
    )
    row = await create_working_group(session, data=data, actor=SYSTEM)
    await session.flush()
    return row


async def test_create_a_group_on_the_shape_of_the_compact(client, setting):
    network, _, _ = setting
    response = await client.post(
        "/v1/working-groups",
        json={
            "network_id": str(network["id"]),
            "name": "Alternatives to detention",
            "slug": "alternatives-to-detention",
            "terms_of_reference": "Promote alternatives to immigration detention.",
            "gcm_objectives": [13, 7],
            "guiding_principles": ["human-rights", "child-sensitive"],
            "sdg_targets": ["10.7", "16.2"],
        },
    )
    assert response.status_code == 201, response.text
    group = response.json()
    assert group["status"] == "proposed"
    assert group["gcm_objectives"] == [7, 13]
    assert group["guiding_principles"] == ["child-sensitive", "human-rights"]
    assert group["sdg_targets"] == ["10.7", "16.2"]
    assert (
        group["secretariat"]["id"] == str(network["coordinator"]["id"]) and group["secretariat_is_coordinator"] is True
    )
    assert group["current_chairs"] == []
    bad = [
        ({"gcm_objectives": [24]}, 422),
        ({"sdg_targets": ["18.1"]}, 422),
        ({"guiding_principles": ["kindness"]}, 422),
        ({"gcm_objectives": [1, 1]}, 422),
        ({"slug": "Not A Slug"}, 422),
        ({"status": "active"}, 422),
    ]
    for override, status in bad:
        body = {"network_id": str(network["id"]), "name": "X", "slug": "x-group"} | override
        assert (await client.post("/v1/working-groups", json=body)).status_code == status, override
    again = await client.post(
        "/v1/working-groups",
        json={"network_id": str(network["id"]), "name": "Again", "slug": "alternatives-to-detention"},
    )
    assert again.json()["type"] == "/problems/slug-taken"


async def test_the_secretariat_is_the_coordinator_unless_the_network_says_otherwise(client, session, setting):
    network, core, _ = setting
    outsider = await make_entity(session, acronym="WG-OUT")
    refused = await client.post(
        "/v1/working-groups",
        json={"network_id": str(network["id"]), "name": "S", "slug": "s", "secretariat_entity_id": str(outsider["id"])},
    )
    assert refused.json()["type"] == "/problems/not-a-network-member"
    created = await client.post(
        "/v1/working-groups",
        json={"network_id": str(network["id"]), "name": "S", "slug": "s", "secretariat_entity_id": str(core["id"])},
    )
    assert created.json()["secretariat"]["acronym"] == "WG-CORE"
    assert created.json()["secretariat_is_coordinator"] is False


async def test_a_chair_is_a_un_system_member_and_co_chairs_are_allowed(client, session, setting):
    network, core, extended = setting
    group = await _group(session, network)
    url = f"/v1/working-groups/{group['id']}/chairs"
    outsider = await make_entity(session, acronym="WG-NOT")
    ngo = await make_entity(session, acronym="WG-NGO", kind=EntityKind.CIVIL_SOCIETY)
    assert (await client.post(url, json={"entity_id": str(outsider["id"]), "start_date": "2020-01-01"})).json()[
        "type"
    ] == "/problems/not-a-network-member"
    assert (await client.post(url, json={"entity_id": str(ngo["id"]), "start_date": "2020-01-01"})).json()[
        "type"
    ] == "/problems/entity-not-un-system"
    before_joining = await client.post(url, json={"entity_id": str(core["id"]), "start_date": "2018-06-01"})
    assert before_joining.json()["type"] == "/problems/not-a-network-member"
    first = await client.post(url, json={"entity_id": str(core["id"]), "start_date": "2020-01-01"})
    second = await client.post(url, json={"entity_id": str(extended["id"]), "start_date": "2020-01-01"})
    assert first.status_code == second.status_code == 201
    twice = await client.post(url, json={"entity_id": str(core["id"]), "start_date": "2021-01-01"})
    assert twice.json()["type"] == "/problems/chair-post-overlap"
    chairs = (await client.get(f"/v1/working-groups/{group['id']}")).json()["current_chairs"]
    assert {c["entity"]["acronym"] for c in chairs} == {"WG-CORE", "WG-EXT"}
    assert [
        g["slug"]
        for g in (await client.get("/v1/working-groups", params={"chair_entity_id": str(extended["id"])})).json()[
            "items"
        ]
    ] == ["returns"]


async def test_an_active_group_has_a_chair(session, setting, client):
    network, core, _ = setting
    group = await _group(session, network)
    with pytest.raises(Conflict) as refused:
        await activate_working_group(
            session, group_id=group["id"], data=WorkingGroupActivate(), expected_version=None, actor=SYSTEM
        )
    assert refused.value.kind == "working-group-needs-chair"
    response = await client.post(f"/v1/working-groups/{group['id']}/activate", json={})
    assert response.status_code == 409
    chair = await client.post(
        f"/v1/working-groups/{group['id']}/chairs", json={"entity_id": str(core["id"]), "start_date": "2020-01-01"}
    )
    activated = await client.post(f"/v1/working-groups/{group['id']}/activate", json={"activated_on": "2020-02-01"})
    assert activated.status_code == 200
    assert activated.json()["status"] == "active"
    last = await client.post(
        f"/v1/working-groups/{group['id']}/chairs/{chair.json()['id']}/end", json={"end_date": "2024-01-01"}
    )
    assert last.json()["type"] == "/problems/last-chair"
    assert (await client.post(f"/v1/working-groups/{group['id']}/activate", json={})).json()[
        "type"
    ] == "/problems/invalid-transition"


async def test_members_come_from_either_tier_of_the_network(client, session, setting):
    network, core, extended = setting
    group = await _group(session, network)
    url = f"/v1/working-groups/{group['id']}/members"
    for entity in (core, extended):
        assert (
            await client.post(url, json={"entity_id": str(entity["id"]), "start_date": "2020-01-01"})
        ).status_code == 201
    outsider = await make_entity(session, acronym="WG-NOPE")
    assert (
        await client.post(url, json={"entity_id": str(outsider["id"]), "start_date": "2020-01-01"})
    ).status_code == 409
    seats = (await client.get(url, params={"as_of": "2020-06-01"})).json()["items"]
    assert {s["entity"]["acronym"] for s in seats} == {"WG-CORE", "WG-EXT"}
    assert (await client.get(url, params={"as_of": "2019-06-01"})).json()["items"] == []
    mine = (await client.get("/v1/working-groups", params={"member_entity_id": str(extended["id"])})).json()["items"]
    assert [g["id"] for g in mine] == [str(group["id"])]


async def test_leaving_the_network_ends_seats_and_chair_posts_in_the_same_transaction(session, setting):
    network, _, extended = setting
    group = await _group(session, network)
    for kind, start in ((PostKind.CHAIR, date(2020, 1, 1)), (PostKind.MEMBER, date(2020, 1, 1))):
        await add_post(
            session,
            group_id=group["id"],
            kind=kind,
            data=PostCreate(entity_id=extended["id"], start_date=start),
            actor=SYSTEM,
        )
    other_group = await _group(session, network, slug="later")
    await add_post(
        session,
        group_id=other_group["id"],
        kind=PostKind.MEMBER,
        data=PostCreate(entity_id=extended["id"], start_date=date(2024, 1, 1)),
        actor=SYSTEM,
    )
    their = await session.scalar(select(Membership).where(Membership.entity_id == extended["id"]))
    before = await session.scalar(select(func.max(Event.position)))
    await end_membership(
        session,
        membership_id=their.id,
        data=MembershipEnd(end_date=date(2023, 6, 30)),
        expected_version=None,
        actor=SYSTEM,
    )
    await session.flush()
    posts = (await session.scalars(select(WorkingGroupPost).where(WorkingGroupPost.entity_id == extended["id"]))).all()
    assert {(p.kind, p.end_date, p.end_reason) for p in posts} == {
        (PostKind.CHAIR, date(2023, 6, 30), "network membership ended"),
        (PostKind.MEMBER, date(2023, 6, 30), "network membership ended"),
    }  # and the seat that would have started in 2024 is withdrawn
    types = set((await session.scalars(select(Event.type).where(Event.subject_id == group["id"]))).all())
    assert {"working_group.chair_ended", "working_group.member_ended"} <= types
    withdrawn = (await session.scalars(select(Event.type).where(Event.subject_id == other_group["id"]))).all()
    assert "working_group.member_withdrawn" in withdrawn
    # The posts' events first, then the membership's: a reader of membership.ended finds them gone.
    ending = (await session.scalars(select(Event.type).where(Event.position > before).order_by(Event.position))).all()
    assert ending[-1] == "membership.ended"
    assert sorted(ending[:-1]) == [
        "working_group.chair_ended",
        "working_group.member_ended",
        "working_group.member_withdrawn",
    ]


async def test_http_membership_end_cascades_and_a_failed_end_cascades_nothing(client, session, setting):
    network, _, extended = setting
    group = await _group(session, network)
    seat = await client.post(
        f"/v1/working-groups/{group['id']}/members", json={"entity_id": str(extended["id"]), "start_date": "2020-01-01"}
    )
    membership = (await client.get("/v1/memberships", params={"entity_id": str(extended["id"])})).json()["items"][0]
    refused = await client.post(f"/v1/memberships/{membership['id']}/end", json={"end_date": "2018-01-01"})
    assert refused.status_code == 422
    assert (await client.get(f"/v1/working-groups/{group['id']}/members/{seat.json()['id']}")).json()[
        "end_date"
    ] is None
    ended = await client.post(f"/v1/memberships/{membership['id']}/end", json={"end_date": "2024-03-31"})
    assert ended.status_code == 200
    assert (await client.get(f"/v1/working-groups/{group['id']}/members/{seat.json()['id']}")).json()[
        "end_date"
    ] == "2024-03-31"


async def test_closing_needs_a_reason_ends_posts_and_freezes_the_group(client, session, setting):
    network, core, _ = setting
    group = await _group(session, network)
    await client.post(
        f"/v1/working-groups/{group['id']}/chairs", json={"entity_id": str(core["id"]), "start_date": "2020-01-01"}
    )
    await client.post(f"/v1/working-groups/{group['id']}/activate", json={"activated_on": "2020-01-01"})
    assert (
        await client.post(f"/v1/working-groups/{group['id']}/close", json={"closed_on": "2024-12-31"})
    ).status_code == 422
    closed = await client.post(
        f"/v1/working-groups/{group['id']}/close", json={"closed_on": "2024-12-31", "reason": "Mandate fulfilled."}
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed" and closed.json()["close_reason"] == "Mandate fulfilled."
    chairs = (await client.get(f"/v1/working-groups/{group['id']}/chairs")).json()["items"]
    assert [c["end_date"] for c in chairs] == ["2024-12-31"]
    etag = (await client.get(f"/v1/working-groups/{group['id']}")).headers["etag"]
    frozen = await client.patch(f"/v1/working-groups/{group['id']}", json={"name": "New"}, headers={"If-Match": etag})
    assert frozen.json()["type"] == "/problems/working-group-closed"
    assert (
        await client.post(
            f"/v1/working-groups/{group['id']}/members", json={"entity_id": str(core["id"]), "start_date": "2025-01-01"}
        )
    ).status_code == 409
    closed_list = (await client.get("/v1/working-groups", params={"status": "closed"})).json()["items"]
    assert [g["id"] for g in closed_list] == [str(group["id"])]


async def test_filters_and_updates(client, session, setting):
    network, _, _ = setting
    detention = await _group(session, network, slug="detention", gcm_objectives=[13])
    await _group(session, network, slug="data", gcm_objectives=[1])
    by_objective = (await client.get("/v1/working-groups", params={"objective": 13})).json()["items"]
    assert [g["slug"] for g in by_objective] == ["detention"]
    by_network = (await client.get("/v1/working-groups", params={"network_id": str(network["id"])})).json()["items"]
    assert {g["slug"] for g in by_network} == {"detention", "data"}
    url = f"/v1/working-groups/{detention['id']}"
    etag = (await client.get(url)).headers["etag"]
    updated = await client.patch(
        url, json={"gcm_objectives": [13, 21], "sdg_targets": ["10.7"]}, headers={"If-Match": etag}
    )
    assert updated.status_code == 200
    assert updated.json()["gcm_objectives"] == [13, 21]
    assert updated.headers["etag"] != etag
    payload = await session.scalar(
        select(Event.payload).where(Event.subject_id == detention["id"], Event.type == "working_group.updated")
    )
    assert payload["changes"]["gcm_objectives"] == {"before": [13], "after": [13, 21]}


async def test_seats_are_given_by_the_secretariat_or_the_chair_and_a_member_may_leave(make_client, session, setting):
    """Two focal points of members, one of the chair: only the chair's gives seats; each
    member may end its own seat, not another's (docs/API.md, roles)."""
    network, core, extended = setting
    third = await make_entity(session, acronym="WG-THIRD")
    await make_membership(session, network_id=network["id"], entity_id=third["id"], start_date=date(2019, 1, 1))
    group = await _group(session, network)
    await add_post(
        session,
        group_id=group["id"],
        kind=PostKind.CHAIR,
        data=PostCreate(entity_id=core["id"], start_date=date(2020, 1, 1)),
        actor=SYSTEM,
    )
    chair = await make_client("focal_point", entity_id=core["id"])
    member = await make_client("focal_point", entity_id=extended["id"])
    another = await make_client("focal_point", entity_id=third["id"])
    url = f"/v1/working-groups/{group['id']}/members"

    taken = await member.post(url, json={"entity_id": str(extended["id"]), "start_date": "2020-01-01"})
    assert taken.status_code == 403 and taken.json()["type"] == "/problems/not-the-chair"
    assert "secretariat" in taken.json()["detail"] and "chair" in taken.json()["detail"]
    assert (
        await another.post(url, json={"entity_id": str(extended["id"]), "start_date": "2020-01-01"})
    ).status_code == 403
    seats = {}
    for entity in (extended, third):
        given = await chair.post(url, json={"entity_id": str(entity["id"]), "start_date": "2020-01-01"})
        assert given.status_code == 201, given.text
        seats[entity["acronym"]] = given.json()["id"]
    refused = await another.post(f"{url}/{seats['WG-EXT']}/end", json={"end_date": "2024-01-01"})
    assert refused.status_code == 403  # not its seat, and it does not chair
    left = await member.post(f"{url}/{seats['WG-EXT']}/end", json={"end_date": "2024-01-01"})
    assert left.status_code == 200, left.text
    ended = await chair.post(f"{url}/{seats['WG-THIRD']}/end", json={"end_date": "2024-01-01"})
    assert ended.status_code == 200, ended.text


# --- stakeholders seated beside the network's members --------------------------------------


async def test_stakeholders_hold_dated_seats_without_becoming_network_members(client, session, setting):
    """ACT Alliance (civil society) and OECD sit in a core working group beside UN members; the
    seats are dated, say which holders are network members, and admit neither to the network."""
    network, core, _ = setting
    group = await _group(session, network, gcm_objectives=[5])
    act = await make_entity(session, acronym="WG-ACT", name="ACT Alliance", kind=EntityKind.CIVIL_SOCIETY)
    oecd = await make_entity(session, acronym="WG-OECD", name="OECD", kind=EntityKind.OTHER)
    url = f"/v1/working-groups/{group['id']}/members"
    seated = {}
    for entity, start in ((core, "2020-01-01"), (act, "2021-03-01"), (oecd, "2022-01-01")):
        response = await client.post(url, json={"entity_id": str(entity["id"]), "start_date": start})
        assert response.status_code == 201, response.text
        seated[entity["acronym"]] = response.json()
    assert seated["WG-ACT"]["seat_type"] == seated["WG-OECD"]["seat_type"] == "stakeholder"
    assert seated["WG-CORE"]["seat_type"] == "network_member"
    ended = await client.post(f"{url}/{seated['WG-ACT']['id']}/end", json={"end_date": "2023-12-31"})
    assert ended.status_code == 200, ended.text

    async def seated_on(day):
        return {s["entity"]["acronym"] for s in (await client.get(url, params={"as_of": day})).json()["items"]}

    assert await seated_on("2020-06-01") == {"WG-CORE"}
    assert await seated_on("2022-06-01") == {"WG-CORE", "WG-ACT", "WG-OECD"}
    assert await seated_on("2024-06-01") == {"WG-CORE", "WG-OECD"}
    members = (await client.get(f"/v1/networks/{network['id']}/memberships", params={"limit": 200})).json()["items"]
    assert not {"WG-ACT", "WG-OECD"} & {m["entity"]["acronym"] for m in members}
    # A stakeholder is not a UN-system entity: it cannot chair, and a UN entity outside the network cannot sit.
    chair = await client.post(
        f"/v1/working-groups/{group['id']}/chairs", json={"entity_id": str(oecd["id"]), "start_date": "2022-01-01"}
    )
    assert chair.json()["type"] == "/problems/entity-not-un-system"
    outsider = await make_entity(session, acronym="WG-UN-OUT")
    refused = await client.post(url, json={"entity_id": str(outsider["id"]), "start_date": "2022-01-01"})
    assert refused.json()["type"] == "/problems/not-a-network-member"


async def test_coverage_and_indicators_count_member_and_stakeholder_seats(client, session, setting):
    network, core, extended = setting
    group = await _group(session, network, gcm_objectives=[5])
    await add_post(
        session,
        group_id=group["id"],
        kind=PostKind.CHAIR,
        data=PostCreate(entity_id=core["id"], start_date=date(2020, 1, 1)),
        actor=SYSTEM,
    )
    await activate_working_group(
        session,
        group_id=group["id"],
        data=WorkingGroupActivate(activated_on=date(2020, 1, 1)),
        expected_version=None,
        actor=SYSTEM,
    )
    act = await make_entity(session, acronym="WG-ACT2", kind=EntityKind.CIVIL_SOCIETY)
    oecd = await make_entity(session, acronym="WG-OECD2", kind=EntityKind.OTHER)
    for entity in (core, extended, act, oecd):
        await add_post(
            session,
            group_id=group["id"],
            kind=PostKind.MEMBER,
            data=PostCreate(entity_id=entity["id"], start_date=date(2021, 1, 1)),
            actor=SYSTEM,
        )
    await session.flush()
    rows = {r["objective"]: r for r in (await client.get(f"/v1/networks/{network['id']}/coverage")).json()["items"]}
    [covering] = rows[5]["working_groups"]
    assert (covering["network_member_seats"], covering["stakeholder_seats"]) == (2, 2)
    indicators = (await client.get(f"/v1/networks/{network['id']}/indicators", params={"as_of": "2022-01-01"})).json()
    assert indicators["working_groups"]["seats"] == {"network_members": 2, "stakeholders": 2}
    before = (await client.get(f"/v1/networks/{network['id']}/indicators", params={"as_of": "2020-06-01"})).json()
    assert before["working_groups"]["seats"] == {"network_members": 0, "stakeholders": 0}
