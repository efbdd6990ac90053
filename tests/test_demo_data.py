"""The demo data set: the global Network, IOM coordinating, the Executive Committee in the core."""

from sqlalchemy import func, select

from services.clock import clock
from services.demo.data import EXECUTIVE_COMMITTEE, EXTENDED_TIER
from services.demo.service import load_demo_data
from services.entities.models import Entity
from services.events.models import Event
from services.memberships.models import Membership
from services.networks.models import Network
from tests.factories import make_network


async def _counts(session):
    return [
        await session.scalar(select(func.count()).select_from(model)) for model in (Entity, Network, Membership, Event)
    ]


async def test_demo_data_loads_once_and_is_labelled(client, session):
    assert await load_demo_data(session) is True
    await session.flush()
    first = await _counts(session)
    assert await load_demo_data(session) is True
    await session.flush()
    assert await _counts(session) == first  # idempotent
    networks = (await client.get("/v1/networks", params={"scope": "global"})).json()["items"]
    assert len(networks) == 1
    network = networks[0]
    assert [(p["role"], p["entity"]["acronym"]) for p in network["leadership"]] == [
        ("coordinator", "IOM"),
        ("secretariat", "IOM"),
    ]
    assert network["coordinator"]["acronym"] == "IOM" and network["secretariat"]["acronym"] == "IOM"
    assert network["is_demo"] is True
    current = (
        await client.get(f"/v1/networks/{network['id']}/memberships", params={"current": "true", "limit": 200})
    ).json()["items"]
    core = sorted(m["entity"]["acronym"] for m in current if m["tier"] == "core")
    assert core == sorted(a for a, _ in EXECUTIVE_COMMITTEE)
    extended = {m["entity"]["acronym"] for m in current if m["tier"] == "extended"}
    assert extended == {a for a, _, _, left in EXTENDED_TIER if left is None}
    assert all(m["is_demo"] for m in current)


async def test_demo_data_stays_out_of_a_real_deployment(session):
    await make_network(session)  # a real global network, not demo
    before = await _counts(session)
    assert await load_demo_data(session) is False
    await session.flush()
    assert await _counts(session) == before


async def test_demo_data_shows_working_groups_mous_and_a_non_trivial_coverage_table(client, session):
    await load_demo_data(session)
    await session.flush()
    network = (await client.get("/v1/networks")).json()["items"][0]
    groups = (await client.get("/v1/working-groups", params={"network_id": network["id"]})).json()["items"]
    assert sorted(g["status"] for g in groups) == ["active", "active", "active", "active", "proposed"]
    assert all(g["current_chairs"] for g in groups if g["status"] == "active")
    statuses = sorted(m["status"] for m in (await client.get("/v1/mous")).json()["items"])
    assert statuses == ["active", "active", "active", "draft", "negotiation"]
    rows = {r["objective"]: r for r in (await client.get(f"/v1/networks/{network['id']}/coverage")).json()["items"]}
    assert rows[6]["contested"] and rows[10]["contested"]
    assert rows[13]["working_groups"] and not rows[13]["uncovered"]
    assert any(r["uncovered"] for r in rows.values())


async def test_demo_meetings_meet_the_annual_rule_with_reminders_coming(client, session):
    await load_demo_data(session)
    await session.flush()
    network = (await client.get("/v1/networks")).json()["items"][0]
    compliance = (await client.get(f"/v1/networks/{network['id']}/meeting-compliance")).json()
    assert compliance["state"] == "ok" and compliance["next_within_12_months"]
    upcoming = (await client.get("/v1/meetings", params={"status": "scheduled", "kind": "extended_membership"})).json()[
        "items"
    ]
    assert len(upcoming) == 1
    assert [r["sent_at"] for r in upcoming[0]["reminders"]] == [None, None]  # 7 days and 1 day before
    framing = (await client.get("/v1/meetings", params={"kind": "framing_conference"})).json()["items"][0]
    assert framing["status"] == "held"
    groups = (await client.get("/v1/working-groups", params={"status": "active"})).json()["items"]
    assert {g["established_by_meeting_id"] for g in groups} == {framing["id"]}


async def test_demo_data_has_a_completed_review_with_recommendations_and_a_scheduled_one(client, session):
    await load_demo_data(session)
    await session.flush()
    network = (await client.get("/v1/networks")).json()["items"][0]
    reviews = (await client.get("/v1/reviews", params={"network_id": network["id"]})).json()["items"]
    assert [(r["number"], r["status"]) for r in sorted(reviews, key=lambda r: r["number"])] == [
        (1, "completed"),
        (2, "scheduled"),
    ]
    completed, scheduled = sorted(reviews, key=lambda r: r["number"])
    assert completed["is_demo"] and completed["findings"].startswith("Demo record.")
    assert completed["start_snapshot"]["as_of"] == completed["started_on"]
    assert completed["end_snapshot"]["membership"]["core"] == 8
    assert completed["recommendations"] == {"open": 1, "in_progress": 1, "done": 1, "dropped": 1}
    assert sorted(c["status"] for c in scheduled["carried_over"]) == ["in_progress", "open"]
    assert scheduled["recommendations"] == {"open": 0, "in_progress": 0, "done": 0, "dropped": 0}
    policy = (await client.get(f"/v1/networks/{network['id']}/review-policy")).json()
    assert policy["lead_entity"]["acronym"] == "DESA" and policy["next_due_date"] > scheduled["due_date"]


async def test_loading_the_demo_sends_no_invitation_for_its_past_meetings(session):
    """Even with every demo entity given an address, the relay invites people to the demo's
    coming meetings only, never to the ones already held."""
    from sqlalchemy import update

    from services.delivery.relay import publish_batch
    from services.mail.models import EmailDelivery
    from services.meetings.models import Meeting

    assert await load_demo_data(session) is True
    await session.flush()
    await session.execute(update(Entity).values(contact_email=func.lower(Entity.acronym) + "@demo.example"))
    while (await publish_batch(session)).events:
        pass
    invited = (
        await session.execute(
            select(Meeting.title, Meeting.ends_at, func.now())
            .join(Event, (Event.subject_id == Meeting.id) & (Event.subject_type == "meeting"))
            .join(EmailDelivery, EmailDelivery.event_id == Event.id)
            .where(EmailDelivery.kind == "invitation")
            .distinct()
        )
    ).all()
    assert invited, "the demo's coming meetings are invited to"
    assert all(ends_at > now for _, ends_at, now in invited), [t for t, e, n in invited if e <= n]
    past = await session.scalar(select(func.count()).select_from(Meeting).where(Meeting.ends_at < func.now()))
    assert past > 0


def _leads(network):
    return sorted((p["role"], p["entity"]["acronym"]) for p in network["leadership"])


async def test_demo_regional_networks_are_co_led(client, session):
    """Latin America and the Caribbean: IOM and ECLAC co-lead and are co-secretariat. Arab
    region: IOM coordinates and is co-secretariat with ESCWA."""
    await load_demo_data(session)
    await session.flush()
    regional = (await client.get("/v1/networks", params={"scope": "regional"})).json()["items"]
    by_short_name = {n["short_name"]: n for n in regional}
    lac, arab = by_short_name["LAC"], by_short_name["Arab region"]
    assert _leads(lac) == [
        ("coordinator", "ECLAC"),
        ("coordinator", "IOM"),
        ("secretariat", "ECLAC"),
        ("secretariat", "IOM"),
    ]
    assert _leads(arab) == [("coordinator", "IOM"), ("secretariat", "ESCWA"), ("secretariat", "IOM")]
    assert lac["coordinator"]["acronym"] == "IOM" and arab["secretariat"]["acronym"] == "IOM"


async def test_demo_working_group_seats_stakeholders_that_are_not_network_members(client, session):
    await load_demo_data(session)
    await session.flush()
    network = (await client.get("/v1/networks", params={"scope": "global"})).json()["items"][0]
    groups = (await client.get("/v1/working-groups", params={"network_id": network["id"]})).json()["items"]
    pathways = next(g for g in groups if g["slug"] == "regular-pathways")
    seats = (await client.get(f"/v1/working-groups/{pathways['id']}/members")).json()["items"]
    by_acronym = {s["entity"]["acronym"]: s["seat_type"] for s in seats}
    assert by_acronym["ACT Alliance"] == by_acronym["OECD"] == "stakeholder"
    assert by_acronym["IOM"] == "network_member"
    members = (
        await client.get(f"/v1/networks/{network['id']}/memberships", params={"current": "true", "limit": 200})
    ).json()["items"]
    assert not {"ACT Alliance", "OECD"} & {m["entity"]["acronym"] for m in members}


async def test_demo_workplans_champions_and_pledges_show_every_state_a_newcomer_meets(client, session):
    """Activities yet to start, ongoing and completed (one with its output), champion
    countries, and a pledge past its due date that is still open."""
    await load_demo_data(session)
    await session.flush()
    network = (await client.get("/v1/networks", params={"scope": "global"})).json()["items"][0]
    workplans = (await client.get("/v1/workplans", params={"network_id": network["id"]})).json()["items"]
    assert workplans and all(w["is_demo"] for w in workplans)
    activities = [
        activity
        for workplan in workplans
        for activity in (await client.get(f"/v1/workplans/{workplan['id']}/activities")).json()["items"]
    ]
    assert {a["status"] for a in activities} == {"yet_to_start", "ongoing", "completed"}
    assert any(a["outputs"] for a in activities if a["status"] == "completed")
    champions = (await client.get(f"/v1/networks/{network['id']}/champion-countries")).json()["items"]
    assert len(champions) >= 2 and all(c["end_date"] is None and c["is_demo"] for c in champions)
    pledges = (await client.get("/v1/pledges", params={"network_id": network["id"]})).json()["items"]
    today = clock.today().isoformat()
    overdue = [p for p in pledges if p["status"] in ("announced", "in_progress") and p["due_date"] < today]
    assert overdue, [(p["title"], p["status"], p["due_date"]) for p in pledges]


async def test_demo_names_focal_points_of_several_entities_with_their_posts(client, session):
    await load_demo_data(session)
    await session.flush()
    people = (await client.get("/v1/people", params={"limit": 200})).json()["items"]
    named = [p for p in people if p["is_demo"] and p["name"] and p["email"]]
    with_current_post = set()
    for person in named:
        posts = (await client.get(f"/v1/people/{person['id']}/posts")).json()["items"]
        if any(post["end_date"] is None for post in posts):
            with_current_post.add(person["entity_id"])
    assert len(with_current_post) >= 2


async def test_demo_focal_points_are_invited_to_the_coming_meeting_in_place_of_their_contact_address(session):
    """IOM's and UNHCR's current focal points receive the coming meeting's invitation; IOM's
    former entity focal point (now the network's) and the entities' contact addresses do not."""
    from services.delivery.relay import publish_batch
    from services.mail.models import EmailDelivery
    from services.meetings.models import Meeting

    assert await load_demo_data(session) is True
    await session.flush()
    while (await publish_batch(session)).events:
        pass
    invited = set(
        (
            await session.scalars(
                select(EmailDelivery.recipient)
                .join(Event, EmailDelivery.event_id == Event.id)
                .join(Meeting, (Event.subject_id == Meeting.id) & (Event.subject_type == "meeting"))
                .where(EmailDelivery.kind == "invitation", Meeting.is_demo, Meeting.starts_at > func.now())
            )
        ).all()
    )
    assert {"beta.focal@iom.example.org", "gamma.focal@unhcr.example.org"} <= invited, sorted(invited)
    assert "alpha.focal@iom.example.org" not in invited
    contacts = (await session.scalars(select(Entity.contact_email).where(Entity.acronym.in_(["IOM", "UNHCR"])))).all()
    assert not set(filter(None, contacts)) & invited
