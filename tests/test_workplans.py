"""Workplans (docs/DOMAIN.md, "Workplans"): activities in each status with their dated
history and outputs, the rules that refuse bad ones in words, and overdue activities raising
their event once."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from services.clock import clock
from services.events.models import Event
from services.networks.models import NetworkScope
from services.workplans.service import report_overdue_activities
from tests.factories import make_entity, make_network
from tests.test_mail import smtp  # noqa: F401 - the fixture


@pytest.fixture
async def world(session):
    clock.freeze(datetime(2024, 6, 1, 9, tzinfo=UTC))
    global_network = await make_network(session)
    other_network = await make_network(
        session, scope=NetworkScope.REGIONAL, region="ECA", parent_network_id=global_network["id"], name="Africa"
    )
    iom = await make_entity(session, acronym="WP-IOM")
    ohchr = await make_entity(session, acronym="WP-OHCHR")
    return global_network, other_network, iom, ohchr


async def _workplan(client, network, **fields):
    body = {"network_id": str(network["id"]), "title": "Workplan 2022-2024", "start_date": "2022-01-01"}
    response = await client.post("/v1/workplans", json=body | {"end_date": "2024-12-31"} | fields)
    assert response.status_code == 201, response.text
    return response.json()


async def _group(client, network, slug):
    response = await client.post(
        "/v1/working-groups", json={"network_id": str(network["id"]), "name": slug.title(), "slug": slug}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _activity(leads, **fields):
    return {
        "title": fields.pop("title", "Alternatives to detention"),
        "lead_entity_ids": [str(lead["id"]) for lead in leads],
        "gcm_objectives": [13],
        "guiding_principles": ["human-rights"],
        "start_date": "2022-03-01",
        "end_date": "2023-12-31",
        "status_changed_on": "2022-01-10",  # planned when the workplan was adopted
    } | fields


async def test_a_workplan_with_activities_in_each_status(client, world):
    network, _, iom, ohchr = world
    workplan = await _workplan(client, network)
    group = await _group(client, network, "returns")
    base = f"/v1/workplans/{workplan['id']}/activities"
    planned = await client.post(base, json=_activity([iom], title="Planned", end_date="2024-12-31"))
    assert planned.status_code == 201, planned.text
    ongoing = await client.post(
        base,
        json=_activity(
            [iom, ohchr],
            title="Ongoing",
            working_group_id=str(group["id"]),
            status="ongoing",
            status_changed_on="2022-03-01",
        ),
    )
    assert ongoing.status_code == 201, ongoing.text
    assert [lead["acronym"] for lead in ongoing.json()["leads"]] == ["WP-IOM", "WP-OHCHR"]
    activity = ongoing.json()
    completed = await client.post(
        f"{base}/{activity['id']}/status", json={"status": "completed", "changed_on": "2023-11-30"}
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["status_history"] == [
        {"status": "ongoing", "changed_on": "2022-03-01"},
        {"status": "completed", "changed_on": "2023-11-30"},
    ]
    output = await client.post(
        f"{base}/{activity['id']}/outputs",
        json={"title": "Guidance note", "link": "https://migrationnetwork.un.org/note", "published_on": "2023-12-01"},
    )
    assert output.status_code == 201, output.text
    assert [o["title"] for o in output.json()["outputs"]] == ["Guidance note"]
    started = await client.post(
        base,
        json=_activity([ohchr], title="Started", workstream="Communications", start_date="2024-01-01", end_date=None),
    )
    assert (await client.post(f"{base}/{started.json()['id']}/status", json={"status": "ongoing"})).status_code == 200
    listed = await client.get(base)
    assert sorted(a["status"] for a in listed.json()["items"]) == ["completed", "ongoing", "yet_to_start"]
    only = await client.get(base, params={"status": "completed"})
    assert [a["title"] for a in only.json()["items"]] == ["Ongoing"]
    assert len((await client.get(base, params={"objective": 13})).json()["items"]) == 3
    assert (await client.get(base, params={"objective": 1})).json()["items"] == []
    # Completing an activity without an end date gives it one: the day it completed.
    done = await client.post(f"{base}/{started.json()['id']}/status", json={"status": "completed"})
    assert done.json()["end_date"] == "2024-06-01"


async def test_status_changes_that_make_no_sense_are_refused(client, world):
    network, _, iom, _ = world
    workplan = await _workplan(client, network)
    base = f"/v1/workplans/{workplan['id']}/activities"
    activity = (await client.post(base, json=_activity([iom]))).json()
    url = f"{base}/{activity['id']}/status"
    assert (await client.post(url, json={"status": "yet_to_start"})).status_code == 409
    assert (await client.post(url, json={"status": "ongoing", "changed_on": "2024-07-01"})).status_code == 422
    assert (await client.post(url, json={"status": "ongoing", "changed_on": "2022-04-01"})).status_code == 200
    earlier = await client.post(url, json={"status": "completed", "changed_on": "2022-03-15"})
    assert earlier.status_code == 422 and "last changed on 2022-04-01" in earlier.json()["detail"]
    assert (await client.post(url, json={"status": "completed", "changed_on": "2023-12-31"})).status_code == 200
    back = await client.post(url, json={"status": "yet_to_start"})
    assert back.status_code == 409 and "it may become ongoing" in back.json()["detail"]


async def test_refusals_say_what_to_do(client, world):
    network, other_network, iom, _ = world
    workplan = await _workplan(client, network)
    foreign_group = await _group(client, other_network, "elsewhere")
    base = f"/v1/workplans/{workplan['id']}/activities"
    objective = await client.post(base, json=_activity([iom], gcm_objectives=[24]))
    assert objective.status_code == 422 and "23" in objective.text
    foreign = await client.post(base, json=_activity([iom], working_group_id=str(foreign_group["id"])))
    assert foreign.status_code == 422 and foreign.json()["type"].endswith("working-group-of-another-network")
    assert f"network_id={network['id']}" in foreign.json()["detail"]
    outside = await client.post(base, json=_activity([iom], end_date="2025-03-31"))
    assert outside.status_code == 422 and "outside the workplan's period (2022-01-01 to 2024-12-31)" in outside.text
    before = await client.post(base, json=_activity([iom], start_date="2021-12-31"))
    assert before.status_code == 422
    assert (await client.post(base, json=_activity([]))).status_code == 422
    unknown_principle = await client.post(base, json=_activity([iom], guiding_principles=["kindness"]))
    assert unknown_principle.status_code == 422 and "/v1/gcm/principles" in unknown_principle.text
    completed_open = await client.post(base, json=_activity([iom], status="completed", end_date=None))
    assert completed_open.status_code == 422 and "end_date" in completed_open.text
    link = await client.post(
        f"{base}/{(await client.post(base, json=_activity([iom]))).json()['id']}/outputs",
        json={"title": "Note", "link": "http://insecure.example.org", "published_on": "2023-01-01"},
    )
    assert link.status_code == 422
    reversed_period = await client.post(
        "/v1/workplans",
        json={"network_id": str(network["id"]), "title": "X", "start_date": "2024-01-01", "end_date": "2023-01-01"},
    )
    assert reversed_period.status_code == 422
    assert (await client.get("/v1/workplans", params={"network_id": str(network["id"])})).json()["items"] == [workplan]


async def test_an_overdue_activity_raises_its_event_once(client, session, world):
    network, _, iom, ohchr = world
    workplan = await _workplan(client, network)
    base = f"/v1/workplans/{workplan['id']}/activities"
    late = (await client.post(base, json=_activity([iom], title="Late", end_date="2024-05-31"))).json()
    late_too = (await client.post(base, json=_activity([ohchr], title="Late too", end_date="2024-04-30"))).json()
    on_time = (await client.post(base, json=_activity([iom], title="On time", end_date="2024-06-30"))).json()
    await client.post(f"{base}/{on_time['id']}/status", json={"status": "completed"})
    await client.post(base, json=_activity([ohchr], title="Year end", end_date="2024-12-31"))
    assert await report_overdue_activities(session, today=clock.today()) == 2
    assert await report_overdue_activities(session, today=clock.today()) == 0  # a second sweep: nothing new
    overdue = (
        await session.scalars(select(Event.subject_id).where(Event.type == "activity.overdue").order_by(Event.position))
    ).all()
    assert sorted(map(str, overdue)) == sorted([late["id"], late_too["id"]])
    # Later, the activity ending with the workplan is overdue too, and only it.
    clock.freeze(datetime(2025, 1, 2, tzinfo=UTC))
    assert await report_overdue_activities(session, today=clock.today()) == 1
    count = await session.scalar(select(func.count()).where(Event.type == "activity.overdue"))
    assert count == 3
    assert (await client.get("/v1/events", params={"type": "activity.overdue"})).status_code == 200


async def test_an_overdue_activity_is_e_mailed_to_the_networks_leads_of_the_day(committed, smtp):  # noqa: F811
    """Co-led network: the overdue activity's e-mail goes to both co-leads holding a post on
    the day it is sent, not to a former co-lead whose post ended the day before."""
    from services.database import get_database
    from services.memberships.models import MembershipTier
    from services.networks.models import PostRole
    from services.networks.posts import appoint_post, end_post
    from services.networks.schemas import NetworkPostCreate, NetworkPostEnd
    from services.principals import SYSTEM
    from services.workplans.schemas import ActivityCreate, WorkplanCreate
    from services.workplans.service import add_activity, create_workplan
    from tests.factories import make_membership
    from tests.test_mail import _relay_and_send

    clock.freeze(datetime(2027, 4, 1, 9, tzinfo=UTC))  # in the future: mail is sent by the real clock too
    established = date(2020, 2, 1)
    async with get_database().session() as session:
        global_network = await make_network(session)
        iom = await make_entity(session, acronym="OV-IOM", contact_email="lead@iom.example")
        eclac = await make_entity(session, acronym="OV-ECLAC", contact_email="lead@eclac.example")
        former = await make_entity(session, acronym="OV-FORMER", contact_email="former@lead.example")
        lac = await make_network(
            session,
            coordinator_id=iom["id"],
            scope=NetworkScope.REGIONAL,
            parent_network_id=global_network["id"],
            region="ECLAC",
            name="Overdue LAC",
            established_on=established,
        )
        for co_lead in (eclac, former):
            await make_membership(
                session, network_id=lac["id"], entity_id=co_lead["id"], tier=MembershipTier.CORE, start_date=established
            )
            post = await appoint_post(
                session,
                network_id=lac["id"],
                data=NetworkPostCreate(entity_id=co_lead["id"], role=PostRole.COORDINATOR, start_date=established),
                actor=SYSTEM,
            )
        await end_post(  # the former co-lead's last day is the day before the mail goes out
            session,
            network_id=lac["id"],
            post_id=post["id"],
            data=NetworkPostEnd(end_date=date(2027, 3, 31)),
            expected_version=None,
            actor=SYSTEM,
        )
        workplan = await create_workplan(
            session,
            data=WorkplanCreate(
                network_id=lac["id"], title="Workplan", start_date=date(2026, 1, 1), end_date=date(2027, 12, 31)
            ),
            actor=SYSTEM,
        )
        await add_activity(
            session,
            workplan_id=workplan["id"],
            data=ActivityCreate(
                title="Regional consultation",
                lead_entity_ids=[eclac["id"]],
                start_date=date(2026, 3, 1),
                end_date=date(2027, 3, 15),
            ),
            actor=SYSTEM,
        )
    async with get_database().session() as session:
        assert await report_overdue_activities(session, today=clock.today()) == 1
    await _relay_and_send()
    overdue = [m["To"] for m in smtp.messages if m["Subject"].startswith("Activity overdue since 15 March 2027")]
    assert sorted(overdue) == ["lead@eclac.example", "lead@iom.example"]
