"""Network leadership is dated: coordinator and secretariat posts, co-leads, and every rule
that asks "the coordinator" reading the posts on the day in question."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from services.clock import clock
from services.errors import Conflict, Forbidden
from services.events.models import Event
from services.flows.membership_end import end_membership
from services.mail.parties import invitation_parties, party_book_for
from services.meetings.models import MeetingKind
from services.meetings.repository import get_meeting_row
from services.meetings.schemas import InviteeIn, MeetingCreate
from services.meetings.service import create_meeting
from services.memberships.models import Membership, MembershipTier
from services.memberships.schemas import MembershipEnd
from services.networks.models import NetworkScope, PostRole
from services.networks.posts import appoint_post, end_post
from services.networks.schemas import NetworkPostCreate, NetworkPostEnd
from services.principals import SYSTEM
from tests.factories import make_entity, make_membership, make_network
from tests.spreadsheet import csv_records

ESTABLISHED = date(2020, 2, 1)
BOTH_LEAD = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
ECLAC_LAST_DAY = date(2030, 6, 30)
ECLAC_GONE = datetime(2030, 7, 15, 9, 0, tzinfo=UTC)


async def _appoint(session, network_id, entity_id, role, start=ESTABLISHED, **extra):
    return await appoint_post(
        session,
        network_id=network_id,
        data=NetworkPostCreate(entity_id=entity_id, role=role, start_date=start, **extra),
        actor=SYSTEM,
    )


async def _end(session, network_id, post_id, end_date):
    return await end_post(
        session,
        network_id=network_id,
        post_id=post_id,
        data=NetworkPostEnd(end_date=end_date, reason="Term over."),
        expected_version=None,
        actor=SYSTEM,
    )


@pytest.fixture
async def lac(session):
    """The global Network (its own coordinator), and LAC: IOM coordinates it from its start
    and ECLAC co-leads and is co-secretariat from the same day."""
    global_network = await make_network(session)
    iom = await make_entity(session, acronym="L-IOM", name="IOM", contact_email="lac@iom.example")
    eclac = await make_entity(session, acronym="L-ECLAC", name="ECLAC", contact_email="migration@eclac.example")
    network = await make_network(
        session,
        coordinator_id=iom["id"],
        scope=NetworkScope.REGIONAL,
        parent_network_id=global_network["id"],
        region="ECLAC",
        name="LAC network",
        established_on=ESTABLISHED,
    )
    await make_membership(
        session, network_id=network["id"], entity_id=eclac["id"], tier=MembershipTier.CORE, start_date=ESTABLISHED
    )
    posts = {
        role: await _appoint(session, network["id"], eclac["id"], role)
        for role in (PostRole.COORDINATOR, PostRole.SECRETARIAT)
    }
    await session.flush()
    return {"network": network, "global": global_network, "iom": iom, "eclac": eclac, "eclac_posts": posts}


def _leads(network):
    return sorted((p["role"], p["entity"]["acronym"]) for p in network["leadership"])


async def _end_eclac_posts(session, lac):
    for post in lac["eclac_posts"].values():
        await _end(session, lac["network"]["id"], post["id"], ECLAC_LAST_DAY)
    await session.flush()


def _meeting_body(network_id, starts: datetime):
    return {
        "network_id": str(network_id),
        "kind": "executive_committee",
        "title": "Regional network meeting",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "time_zone": "America/Santiago",
        "location": "Santiago",
    }


# --- co-leads manage the network and organise its meetings, on the days they hold posts ---


async def test_both_co_leads_manage_the_network_and_organise_meetings_while_both_hold_posts(lac, make_client):
    clock.freeze(BOTH_LEAD)
    network_id = lac["network"]["id"]
    for n, lead in enumerate(("iom", "eclac")):
        focal_point = await make_client("focal_point", lac[lead]["id"])
        etag = (await focal_point.get(f"/v1/networks/{network_id}")).headers["etag"]
        changed = await focal_point.patch(
            f"/v1/networks/{network_id}", json={"description": f"Changed by {lead}."}, headers={"If-Match": etag}
        )
        assert changed.status_code == 200, changed.text
        scheduled = await focal_point.post(
            "/v1/meetings", json=_meeting_body(network_id, BOTH_LEAD + timedelta(30 + n))
        )
        assert scheduled.status_code == 201, scheduled.text
        cancelled = await focal_point.post(f"/v1/meetings/{scheduled.json()['id']}/cancel", json={"reason": "Moved."})
        assert cancelled.status_code == 200, cancelled.text
    network = (await focal_point.get(f"/v1/networks/{network_id}")).json()
    assert sorted((p["role"], p["entity"]["acronym"]) for p in network["leadership"]) == [
        ("coordinator", "L-ECLAC"),
        ("coordinator", "L-IOM"),
        ("secretariat", "L-ECLAC"),
        ("secretariat", "L-IOM"),
    ]


async def test_a_co_lead_whose_post_ended_no_longer_manages_the_network_or_its_meetings(lac, session, make_client):
    await _end_eclac_posts(session, lac)
    network_id = lac["network"]["id"]
    clock.freeze(BOTH_LEAD)  # before ECLAC's last day: it schedules a meeting
    eclac = await make_client("focal_point", lac["eclac"]["id"])
    iom = await make_client("focal_point", lac["iom"]["id"])
    meeting = await eclac.post("/v1/meetings", json=_meeting_body(network_id, ECLAC_GONE + timedelta(days=30)))
    assert meeting.status_code == 201, meeting.text

    clock.freeze(ECLAC_GONE)
    etag = (await eclac.get(f"/v1/networks/{network_id}")).headers["etag"]
    refused = await eclac.patch(f"/v1/networks/{network_id}", json={"description": "X."}, headers={"If-Match": etag})
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/not-a-network-lead"
    later = _meeting_body(network_id, ECLAC_GONE + timedelta(days=40))
    refused = await eclac.post("/v1/meetings", json=later)
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/not-a-network-lead"
    refused = await eclac.post(f"/v1/meetings/{meeting.json()['id']}/cancel", json={"reason": "No."})
    assert refused.status_code == 403
    # IOM still leads: it manages the network and takes over the meeting.
    assert (await iom.post("/v1/meetings", json=later)).status_code == 201
    cancelled = await iom.post(f"/v1/meetings/{meeting.json()['id']}/cancel", json={"reason": "Moved."})
    assert cancelled.status_code == 200, cancelled.text
    assert [p["entity"]["acronym"] for p in (await iom.get(f"/v1/networks/{network_id}")).json()["leadership"]] == [
        "L-IOM",
        "L-IOM",
    ]


async def test_the_service_refuses_a_former_co_lead_the_gate_would_refuse(lac, session):
    """The same rule at the service level (what the access gate declares, the service checks)."""
    from services.principals import Principal, Role

    await _end_eclac_posts(session, lac)
    clock.freeze(ECLAC_GONE)
    eclac = Principal(id="eclac", role=Role.FOCAL_POINT, entity_id=lac["eclac"]["id"])
    data = MeetingCreate(
        network_id=lac["network"]["id"],
        kind=MeetingKind.EXECUTIVE_COMMITTEE,
        title="T",
        starts_at=ECLAC_GONE + timedelta(days=3),
        ends_at=ECLAC_GONE + timedelta(days=3, hours=1),
        time_zone="UTC",
        location="Santiago",
    )
    with pytest.raises(Forbidden):
        await create_meeting(session, data=data, actor=eclac)


# --- the last-coordinator rule, with two posts ----------------------------------------------


async def test_one_of_two_coordinators_may_end_but_not_the_last(lac, session, client):
    network_id = lac["network"]["id"]
    iom_posts = (await client.get(f"/v1/networks/{network_id}/posts", params={"role": "coordinator"})).json()["items"]
    iom_post = next(p for p in iom_posts if p["entity"]["acronym"] == "L-IOM")
    ended = await client.post(
        f"/v1/networks/{network_id}/posts/{lac['eclac_posts'][PostRole.COORDINATOR]['id']}/end",
        json={"end_date": str(ECLAC_LAST_DAY)},
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["end_date"] == str(ECLAC_LAST_DAY)
    last = await client.post(f"/v1/networks/{network_id}/posts/{iom_post['id']}/end", json={"end_date": "2031-01-31"})
    assert last.status_code == 409 and last.json()["type"] == "/problems/last-coordinator"
    # ECLAC stays secretariat with IOM; IOM's secretariat post may end, ECLAC's then may not.
    ended = (await client.get(f"/v1/networks/{network_id}/posts", params={"role": "secretariat"})).json()["items"]
    iom_secretariat = next(p for p in ended if p["entity"]["acronym"] == "L-IOM")
    assert (
        await client.post(
            f"/v1/networks/{network_id}/posts/{iom_secretariat['id']}/end", json={"end_date": "2031-01-31"}
        )
    ).status_code == 200
    eclac_secretariat = lac["eclac_posts"][PostRole.SECRETARIAT]["id"]
    last = await client.post(
        f"/v1/networks/{network_id}/posts/{eclac_secretariat}/end", json={"end_date": "2031-01-31"}
    )
    assert last.status_code == 409 and last.json()["type"] == "/problems/last-secretariat"


async def test_a_post_holder_stays_a_core_member_while_its_post_runs(lac, session):
    network_id = lac["network"]["id"]
    eclac_membership = await session.scalar(
        select(Membership).where(Membership.network_id == network_id, Membership.entity_id == lac["eclac"]["id"])
    )
    with pytest.raises(Conflict) as refused:
        await end_membership(
            session,
            membership_id=eclac_membership.id,
            data=MembershipEnd(end_date=date(2030, 12, 31)),
            expected_version=None,
            actor=SYSTEM,
        )
    assert refused.value.kind == "coordinator-must-remain-core"
    await _end_eclac_posts(session, lac)
    await end_membership(
        session,
        membership_id=eclac_membership.id,
        data=MembershipEnd(end_date=ECLAC_LAST_DAY),
        expected_version=None,
        actor=SYSTEM,
    )


async def test_a_post_needs_an_open_ended_core_member(lac, session):
    extended = await make_entity(session, acronym="L-EXT")
    await make_membership(session, network_id=lac["network"]["id"], entity_id=extended["id"])
    with pytest.raises(Conflict) as refused:
        await _appoint(session, lac["network"]["id"], extended["id"], PostRole.COORDINATOR, start=date(2024, 1, 1))
    assert refused.value.kind == "coordinator-not-core"
    with pytest.raises(Conflict) as refused:
        await _appoint(session, lac["network"]["id"], lac["eclac"]["id"], PostRole.COORDINATOR, start=date(2024, 1, 1))
    assert refused.value.kind == "post-overlap"


# --- the global Network keeps one coordinator, which is its secretariat ---------------------


async def test_the_global_network_takes_no_co_lead_but_hands_over(lac, session, client):
    global_id = lac["global"]["id"]
    successor = await make_entity(session, acronym="G-NEXT")
    await make_membership(
        session, network_id=global_id, entity_id=successor["id"], tier=MembershipTier.CORE, start_date=date(2019, 1, 1)
    )
    body = {"entity_id": str(successor["id"]), "role": "coordinator", "start_date": "2031-01-01"}
    co_lead = await client.post(f"/v1/networks/{global_id}/posts", json=body)
    assert co_lead.status_code == 409 and co_lead.json()["type"] == "/problems/global-network-single-lead"
    current = (await client.get(f"/v1/networks/{global_id}/posts", params={"role": "coordinator"})).json()["items"]
    handover = await client.post(f"/v1/networks/{global_id}/posts", json={**body, "replaces_post_id": current[0]["id"]})
    assert handover.status_code == 201, handover.text
    posts = (await client.get(f"/v1/networks/{global_id}/posts", params={"role": "coordinator"})).json()["items"]
    assert [(p["entity"]["acronym"], p["start_date"], p["end_date"]) for p in posts] == [
        (lac["global"]["coordinator"]["acronym"], "2018-12-09", "2030-12-31"),
        ("G-NEXT", "2031-01-01", None),
    ]
    clock.freeze(datetime(2031, 2, 1, tzinfo=UTC))
    assert (await client.get(f"/v1/networks/{global_id}")).json()["coordinator"]["acronym"] == "G-NEXT"
    types = (await session.scalars(select(Event.type).where(Event.network_id == global_id))).all()
    assert types[-2:] == ["network.post_ended", "network.post_appointed"]
    # The coordinator is also the secretariat: the secretariat post was handed over with it.
    network = (await client.get(f"/v1/networks/{global_id}")).json()
    assert _leads(network) == [("coordinator", "G-NEXT"), ("secretariat", "G-NEXT")]


async def test_handing_over_the_global_networks_secretariat_hands_over_its_coordinator(lac, session, client):
    """The global Network's coordinator and secretariat never name two entities: a handover
    of either post carries the other from the same day."""
    global_id = lac["global"]["id"]
    first = lac["global"]["coordinator"]["acronym"]
    successor = await make_entity(session, acronym="G-SEC")
    await make_membership(
        session, network_id=global_id, entity_id=successor["id"], tier=MembershipTier.CORE, start_date=date(2019, 1, 1)
    )
    [current] = (await client.get(f"/v1/networks/{global_id}/posts", params={"role": "secretariat"})).json()["items"]
    body = {"entity_id": str(successor["id"]), "role": "secretariat", "start_date": "2031-01-01"}
    handover = await client.post(f"/v1/networks/{global_id}/posts", json={**body, "replaces_post_id": current["id"]})
    assert handover.status_code == 201, handover.text
    posts = (await client.get(f"/v1/networks/{global_id}/posts")).json()["items"]
    assert sorted((p["role"], p["entity"]["acronym"], p["start_date"], p["end_date"]) for p in posts) == [
        ("coordinator", first, "2018-12-09", "2030-12-31"),
        ("coordinator", "G-SEC", "2031-01-01", None),
        ("secretariat", first, "2018-12-09", "2030-12-31"),
        ("secretariat", "G-SEC", "2031-01-01", None),
    ]
    for day, lead in ((datetime(2030, 12, 31, tzinfo=UTC), first), (datetime(2031, 1, 1, tzinfo=UTC), "G-SEC")):
        clock.freeze(day)
        network = (await client.get(f"/v1/networks/{global_id}")).json()
        assert _leads(network) == [("coordinator", lead), ("secretariat", lead)], day


# --- the deprecated coordinator_entity_id ---------------------------------------------------


async def test_coordinator_entity_id_reads_the_lead_post_and_writing_it_hands_over(lac, session, client):
    network_id = lac["network"]["id"]
    network = (await client.get(f"/v1/networks/{network_id}")).json()
    assert network["coordinator_entity_id"] == network["coordinator"]["id"] == str(lac["iom"]["id"])
    listed = await client.get("/v1/networks", params={"coordinator_entity_id": str(lac["eclac"]["id"])})
    assert [n["id"] for n in listed.json()["items"]] == [str(network_id)]
    etag = (await client.get(f"/v1/networks/{network_id}")).headers["etag"]
    handed = await client.patch(
        f"/v1/networks/{network_id}",
        json={"coordinator_entity_id": str(lac["eclac"]["id"])},
        headers={"If-Match": etag},
    )
    assert handed.status_code == 200, handed.text
    assert sorted((p["role"], p["entity"]["acronym"]) for p in handed.json()["leadership"]) == [
        ("coordinator", "L-ECLAC"),
        ("secretariat", "L-ECLAC"),
    ]
    assert handed.json()["coordinator_entity_id"] == str(lac["eclac"]["id"])
    ended = (await client.get(f"/v1/networks/{network_id}/posts", params={"role": "coordinator"})).json()["items"]
    yesterday = str(clock.today() - timedelta(days=1))
    assert {(p["entity"]["acronym"], p["end_date"]) for p in ended} == {("L-IOM", yesterday), ("L-ECLAC", None)}


async def test_the_openapi_document_marks_coordinator_entity_id_deprecated(client):
    """On the network's shapes and on the list's filter alike."""
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    for name in ("NetworkOut", "NetworkUpdate"):
        field = schemas[name]["properties"]["coordinator_entity_id"]
        assert field["deprecated"] is True and "/posts" in str(schemas[name]), name
    listed = (await client.get("/openapi.json")).json()["paths"]["/v1/networks"]["get"]["parameters"]
    [parameter] = [p for p in listed if p["name"] == "coordinator_entity_id"]
    assert parameter["deprecated"] is True and "/posts" in parameter["description"]


# --- the ORGANIZER of an invitation: the lead secretariat on the meeting's day ------------


async def test_the_organizer_is_the_secretariat_on_the_meetings_day(lac, session):
    """IOM hands its secretariat post to ECLAC from 1 July 2030 (ECLAC's own ends first): a
    meeting in June names IOM as organizer, one in September ECLAC, whatever today is."""
    network_id = lac["network"]["id"]
    await _end(session, network_id, lac["eclac_posts"][PostRole.SECRETARIAT]["id"], date(2020, 12, 31))
    iom_secretariat = next(
        p for p in (await _posts(session, network_id, PostRole.SECRETARIAT)) if p.entity_id == lac["iom"]["id"]
    )
    await _appoint(
        session,
        network_id,
        lac["eclac"]["id"],
        PostRole.SECRETARIAT,
        start=date(2030, 7, 1),
        replaces_post_id=iom_secretariat.id,
    )
    organizers = {}
    for day in (datetime(2030, 6, 20, 14, tzinfo=UTC), datetime(2030, 9, 1, 14, tzinfo=UTC)):
        meeting = await create_meeting(
            session,
            data=MeetingCreate(
                network_id=network_id,
                kind=MeetingKind.EXECUTIVE_COMMITTEE,
                title="Regional meeting",
                starts_at=day,
                ends_at=day + timedelta(hours=2),
                time_zone="America/Santiago",
                location="Santiago",
                invitees=[InviteeIn(name="Civil society", email="cs@example.org")],
            ),
            actor=SYSTEM,
        )
        row = await get_meeting_row(session, meeting["id"])
        organizer, _ = invitation_parties(await party_book_for(session, [row]), row, "cs@example.org")
        organizers[day.month] = (organizer.name, organizer.email)
    assert organizers == {6: ("IOM", "lac@iom.example"), 9: ("ECLAC", "migration@eclac.example")}


async def _posts(session, network_id, role):
    from services.networks.models import NetworkPost

    query = select(NetworkPost).where(NetworkPost.network_id == network_id, NetworkPost.role == role)
    return (await session.scalars(query)).all()


async def test_posts_export_as_csv_with_the_networks_leadership(lac, client):
    network_id = lac["network"]["id"]
    response = await client.get(
        f"/v1/networks/{network_id}/posts", params={"header": "fields"}, headers={"Accept": "text/csv"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = csv_records(response.content)
    assert list(rows[0])[:5] == ["id", "network_id", "role", "entity", "start_date"]
    assert sorted((r["role"], json.loads(r["entity"])["acronym"]) for r in rows) == [
        ("coordinator", "L-ECLAC"),
        ("coordinator", "L-IOM"),
        ("secretariat", "L-ECLAC"),
        ("secretariat", "L-IOM"),
    ]
    networks = await client.get(
        "/v1/networks", params={"scope": "regional", "header": "fields"}, headers={"Accept": "text/csv"}
    )
    [lac_row] = csv_records(networks.content)
    assert len(json.loads(lac_row["leadership"])) == 4 and lac_row["coordinator_entity_id"] == str(lac["iom"]["id"])
