"""Avoiding duplication: which objectives a network covers, where leads collide, where nothing covers."""

from datetime import UTC, date, datetime

from api.coverage import CSV_COLUMNS
from services.clock import clock
from services.principals import SYSTEM
from services.working_groups.models import PostKind
from services.working_groups.schemas import PostCreate, WorkingGroupActivate, WorkingGroupCreate
from services.working_groups.service import activate_working_group, add_post, create_working_group
from tests.factories import make_entity, make_membership, make_network
from tests.mou_helpers import make_mou
from tests.spreadsheet import csv_records


async def _active_group(session, network_id, chair_id, slug, objectives):
    group = await create_working_group(
        session,
        data=WorkingGroupCreate(network_id=network_id, name=slug.title(), slug=slug, gcm_objectives=objectives),
        actor=SYSTEM,
    )
    await add_post(
        session,
        group_id=group["id"],
        kind=PostKind.CHAIR,
        data=PostCreate(entity_id=chair_id, start_date=date(2020, 1, 1)),
        actor=SYSTEM,
    )
    await activate_working_group(
        session,
        group_id=group["id"],
        data=WorkingGroupActivate(activated_on=date(2020, 2, 1)),
        expected_version=None,
        actor=SYSTEM,
    )
    return group


async def test_the_coverage_table(client, session):
    network = await make_network(session)
    iom = await make_entity(session, acronym="C-IOM")
    ilo = await make_entity(session, acronym="C-ILO")
    unodc = await make_entity(session, acronym="C-UNODC")
    for entity in (iom, ilo, unodc):
        await make_membership(session, network_id=network["id"], entity_id=entity["id"])
    await _active_group(session, network["id"], iom["id"], "returns", [21])
    await create_working_group(
        session,
        data=WorkingGroupCreate(network_id=network["id"], name="Proposed", slug="proposed", gcm_objectives=[2]),
        actor=SYSTEM,
    )
    # Two active MoUs with different leads on objective 6 (contested); one on 10 alone.
    await make_mou(
        session,
        network_id=network["id"],
        parties=[ilo["id"], iom["id"]],
        lead=ilo["id"],
        objectives=(6,),
        state="signed",
        reference="C/1",
    )
    await make_mou(
        session,
        network_id=network["id"],
        parties=[iom["id"], ilo["id"]],
        lead=iom["id"],
        objectives=(6, 10),
        state="signed",
        reference="C/2",
    )
    await make_mou(
        session,
        network_id=network["id"],
        parties=[unodc["id"], iom["id"]],
        lead=unodc["id"],
        objectives=(9,),
        state="negotiation",
        reference="C/3",
    )
    await session.flush()

    response = await client.get(f"/v1/networks/{network['id']}/coverage")
    assert response.status_code == 200
    rows = {r["objective"]: r for r in response.json()["items"]}
    assert sorted(rows) == list(range(1, 24))
    assert [g["slug"] for g in rows[21]["working_groups"]] == ["returns"] and not rows[21]["uncovered"]
    assert rows[2]["uncovered"]  # a proposed group covers nothing yet
    assert rows[9]["uncovered"]  # nor does a MoU under negotiation
    assert rows[6]["contested"] and {a["lead"]["acronym"] for a in rows[6]["mou_areas"]} == {"C-ILO", "C-IOM"}
    assert not rows[10]["contested"] and [a["reference_number"] for a in rows[10]["mou_areas"]] == ["C/2"]
    assert sum(r["uncovered"] for r in rows.values()) == 23 - 3

    as_csv = await client.get(f"/v1/networks/{network['id']}/coverage", headers={"Accept": "text/csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = csv_records(as_csv.content)  # its header for people
    assert len(table) == 23
    assert (
        table[5]["Objective"] == "6" and table[5]["Contested"] == "yes" and table[5]["Lead parties"] == "C-ILO; C-IOM"
    )
    assert table[20]["Working groups"] == "Returns"
    assert (await client.get("/v1/networks/00000000-0000-7000-8000-000000000000/coverage")).status_code == 404


async def test_a_contested_objective_needs_two_different_leads(client, session):
    network = await make_network(session)
    a = await make_entity(session, acronym="C-A")
    b = await make_entity(session, acronym="C-B")
    await make_mou(
        session,
        network_id=network["id"],
        parties=[a["id"], b["id"]],
        lead=a["id"],
        objectives=(3,),
        state="signed",
        reference="S/1",
    )
    await make_mou(
        session,
        network_id=network["id"],
        parties=[a["id"], b["id"]],
        lead=a["id"],
        objectives=(3,),
        state="signed",
        reference="S/2",
    )
    await session.flush()
    row = next(
        r for r in (await client.get(f"/v1/networks/{network['id']}/coverage")).json()["items"] if r["objective"] == 3
    )
    assert len(row["mou_areas"]) == 2 and row["contested"] is False


async def test_the_csv_keeps_user_text_from_running_as_a_formula_and_accept_is_negotiated(client, session):
    network = await make_network(session)
    chair = await make_entity(session, acronym="C-F")
    await make_membership(session, network_id=network["id"], entity_id=chair["id"], start_date=date(2019, 1, 1))
    group = await _active_group(session, network["id"], chair["id"], "formula", [4])
    await client.patch(
        f"/v1/working-groups/{group['id']}",
        json={"name": '=HYPERLINK("http://evil.example")'},
        headers={"If-Match": (await client.get(f"/v1/working-groups/{group['id']}")).headers["etag"]},
    )
    url = f"/v1/networks/{network['id']}/coverage"
    as_csv = await client.get(url, params={"header": "fields"}, headers={"Accept": "text/csv"})
    table = csv_records(as_csv.content)
    assert table[3]["working_groups"] == '\'=HYPERLINK("http://evil.example")'
    assert as_csv.headers["vary"] == "Accept"
    assert (
        (await client.get(url, headers={"Accept": "text/csv;q=0, */*"}))
        .headers["content-type"]
        .startswith("application/json")
    )
    refused = await client.get(url, headers={"Accept": "image/png"})
    assert refused.status_code == 406 and refused.json()["type"] == "/problems/not-acceptable"


async def test_current_activities_are_counted_but_do_not_cover_an_objective(client, session):
    clock.freeze(datetime(2024, 6, 1, 9, tzinfo=UTC))
    network = await make_network(session)
    lead = await make_entity(session, acronym="C-ACT")

    async def workplan(start, end):
        body = {"network_id": str(network["id"]), "title": f"{start} to {end}", "start_date": start, "end_date": end}
        response = await client.post("/v1/workplans", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    async def activity(workplan_id, objectives, start, **fields):
        body = {"title": "A", "lead_entity_ids": [str(lead["id"])], "gcm_objectives": objectives, "start_date": start}
        response = await client.post(f"/v1/workplans/{workplan_id}/activities", json=body | fields)
        assert response.status_code == 201, response.text

    current, past = await workplan("2024-01-01", "2025-12-31"), await workplan("2022-01-01", "2023-12-31")
    await activity(current, [3, 9], "2024-02-01", status="ongoing", status_changed_on="2024-02-01")
    await activity(current, [9], "2025-03-01")  # planned, in the current workplan
    await activity(
        current, [4], "2024-01-01", end_date="2024-03-31", status="completed", status_changed_on="2024-03-31"
    )
    await activity(past, [5], "2022-01-01")  # never completed, but its workplan's period is over
    items = (await client.get(f"/v1/networks/{network['id']}/coverage")).json()["items"]
    counts = {row["objective"]: row["activities"] for row in items if row["activities"]}
    assert counts == {3: 1, 9: 2}
    assert items[8]["uncovered"] is True  # activities alone do not cover it
    url = f"/v1/networks/{network['id']}/coverage"
    table = (await client.get(url, headers={"Accept": "text/csv"})).content.decode("utf-8-sig")
    header, row_9 = table.splitlines()[0], table.splitlines()[9]
    assert header == "Objective,Title,Working groups,MoU areas,Lead parties,Activities,Uncovered,Contested"
    fields = (await client.get(url, params={"header": "fields"}, headers={"Accept": "text/csv"})).content
    assert fields.decode("utf-8-sig").splitlines()[0] == ",".join(CSV_COLUMNS)
    assert row_9.startswith("9,") and row_9.endswith(",2,yes,no")
