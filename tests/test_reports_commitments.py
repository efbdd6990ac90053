"""The activity report's workplan, champion-country and pledge sections: activities by their
status on the period's last day (from the dated history) with the overdue ones listed,
outputs published in the period, champions serving in it by name, and pledges by status with
those overdue on the period's last day listed by pledger. Another network's records stay out."""

import io
import zipfile
from datetime import UTC, datetime

import pytest

from services.clock import clock
from services.networks.models import NetworkScope
from tests.factories import make_entity, make_network
from tests.spreadsheet import csv_records, csv_table

SPRING = {"from": "2027-01-01", "to": "2027-04-30"}
MAY = {"from": "2027-05-01", "to": "2027-05-31"}


async def _post(client, url, body, status=201):
    response = await client.post(url, json=body)
    assert response.status_code == status, response.text
    return response.json()


async def _workplan(client, network, title):
    body = {"network_id": str(network["id"]), "title": title, "start_date": "2027-01-01", "end_date": "2027-12-31"}
    return await _post(client, "/v1/workplans", body)


async def _activity(client, workplan, lead, title, start, end, status="yet_to_start"):
    body = {
        "title": title,
        "lead_entity_ids": [str(lead["id"])],
        "start_date": start,
        "end_date": end,
        "status": status,
        "status_changed_on": "2027-01-10",
    }
    return await _post(client, f"/v1/workplans/{workplan['id']}/activities", body)


@pytest.fixture
async def world(client, session):
    clock.freeze(datetime(2027, 1, 10, 9, tzinfo=UTC))
    network = await make_network(session)
    other = await make_network(
        session, scope=NetworkScope.REGIONAL, region="ECA", parent_network_id=network["id"], name="Africa"
    )
    iom = await make_entity(session, acronym="RC-IOM")
    ngo = await make_entity(session, acronym="RC-NGO")
    plan = await _workplan(client, network, "Workplan 2027")
    planned = await _activity(client, plan, iom, "Planned", "2027-02-01", "2027-03-31")
    ongoing = await _activity(client, plan, iom, "Ongoing", "2027-01-15", "2027-09-30", "ongoing")
    late = await _activity(client, plan, ngo, "Done late", "2027-01-01", "2027-02-28", "ongoing")
    await _activity(client, plan, iom, "Later", "2027-08-01", "2027-10-31")
    elsewhere = await _workplan(client, other, "Elsewhere")
    await _activity(client, elsewhere, iom, "Not ours", "2027-01-01", "2027-01-31", "ongoing")
    outputs = f"/v1/workplans/{plan['id']}/activities/{ongoing['id']}/outputs"
    for title, day in (("Guidance note", "2027-03-10"), ("Toolkit", "2027-05-20")):
        await _post(client, outputs, {"title": title, "link": "https://example.org/o", "published_on": day})
    champions = f"/v1/networks/{network['id']}/champion-countries"
    await _post(client, champions, {"country_code": "MX", "start_date": "2026-01-01"})
    await _post(client, champions, {"country_code": "KE", "start_date": "2027-02-01", "end_date": "2027-03-31"})
    await _post(client, champions, {"country_code": "BR", "start_date": "2027-05-01"})
    await _post(
        client, f"/v1/networks/{other['id']}/champion-countries", {"country_code": "FR", "start_date": "2026-01-01"}
    )
    base = {"network_id": str(network["id"])}
    await _post(client, "/v1/pledges", base | {"pledger_country_code": "MX", "title": "Open", "due_date": "2027-03-01"})
    fulfilled = await _post(
        client,
        "/v1/pledges",
        base | {"pledger_entity_id": str(ngo["id"]), "title": "Fulfilled", "due_date": "2027-02-01"},
    )
    await _post(
        client, "/v1/pledges", base | {"pledger_country_code": "KE", "title": "Not due", "due_date": "2027-12-01"}
    )
    withdrawn = await _post(
        client, "/v1/pledges", base | {"pledger_country_code": "BR", "title": "Withdrawn", "due_date": "2027-03-01"}
    )
    await _post(client, f"/v1/pledges/{withdrawn['id']}/status", {"status": "withdrawn"}, 200)
    await _post(
        client,
        "/v1/pledges",
        {"network_id": str(other["id"]), "pledger_country_code": "FR", "title": "Theirs", "due_date": "2027-01-20"},
    )
    clock.freeze(datetime(2027, 6, 1, 9, tzinfo=UTC))
    await _post(
        client, f"/v1/pledges/{fulfilled['id']}/status", {"status": "fulfilled", "changed_on": "2027-05-01"}, 200
    )
    completion = {"status": "completed", "changed_on": "2027-05-15"}
    await _post(client, f"/v1/workplans/{plan['id']}/activities/{late['id']}/status", completion, 200)
    return network, planned


async def _report(client, network, period):
    response = await client.get(f"/v1/networks/{network['id']}/reports/activity", params=period)
    assert response.status_code == 200, response.text
    return response.json()


async def test_activities_are_reported_by_their_status_on_the_last_day(client, world):
    network, _ = world
    spring = await _report(client, network, SPRING)
    assert spring["activities_by_status"] == [
        {"status": "yet_to_start", "activities": 1, "overdue": 1},
        {"status": "ongoing", "activities": 2, "overdue": 1},  # completed only in May
        {"status": "completed", "activities": 0, "overdue": 0},
    ]
    assert [
        (a["activity"], a["leads"], a["end_date"], a["status_at_end"], a["days_overdue"])
        for a in spring["overdue_activities"]
    ] == [
        ("Done late", "RC-NGO", "2027-02-28", "ongoing", 61),
        ("Planned", "RC-IOM", "2027-03-31", "yet_to_start", 30),
    ]
    assert [(o["published_on"], o["activity"], o["title"]) for o in spring["outputs"]] == [
        ("2027-03-10", "Ongoing", "Guidance note")
    ]
    may = await _report(client, network, MAY)
    assert [(s["status"], s["activities"], s["overdue"]) for s in may["activities_by_status"]] == [
        ("yet_to_start", 1, 1),
        ("ongoing", 1, 0),
        ("completed", 1, 0),
    ]
    assert [a["activity"] for a in may["overdue_activities"]] == ["Planned"]
    assert [o["title"] for o in may["outputs"]] == ["Toolkit"]


async def test_champions_serving_in_the_period_are_named(client, world):
    network, _ = world
    spring = await _report(client, network, SPRING)
    assert [(c["country_code"], c["country"], c["change"]) for c in spring["champion_countries"]] == [
        ("MX", "Mexico", "serving"),
        ("KE", "Kenya", "started and ended"),
    ]
    may = await _report(client, network, MAY)
    assert [(c["country"], c["change"]) for c in may["champion_countries"]] == [
        ("Mexico", "serving"),
        ("Brazil", "started"),
    ]


async def test_pledges_by_status_and_those_overdue_by_pledger(client, world):
    network, _ = world
    spring = await _report(client, network, SPRING)
    assert spring["pledges_by_status"] == [
        {"status": "announced", "pledges": 2, "overdue_at_end": 1},
        {"status": "in_progress", "pledges": 0, "overdue_at_end": 0},
        {"status": "fulfilled", "pledges": 1, "overdue_at_end": 1},  # fulfilled on 1 May, after the period
        {"status": "withdrawn", "pledges": 1, "overdue_at_end": 0},
    ]
    assert [(p["pledger"], p["title"], p["status"], p["days_overdue"]) for p in spring["overdue_pledges"]] == [
        ("RC-NGO", "Fulfilled", "fulfilled", 88),
        ("Mexico", "Open", "announced", 60),
    ]
    may = await _report(client, network, MAY)
    assert [(s["status"], s["pledges"], s["overdue_at_end"]) for s in may["pledges_by_status"]] == [
        ("announced", 2, 1),
        ("in_progress", 0, 0),
        ("fulfilled", 1, 0),
        ("withdrawn", 0, 0),  # withdrawn before May
    ]
    assert [p["pledger"] for p in may["overdue_pledges"]] == ["Mexico"]


async def test_the_zip_and_the_page_carry_the_new_sections(client, world):
    network, _ = world
    url = f"/v1/networks/{network['id']}/reports/activity"
    archive = zipfile.ZipFile(
        io.BytesIO((await client.get(url, params=SPRING, headers={"Accept": "application/zip"})).content)
    )
    pledges = csv_records(archive.read("overdue_pledges.csv"))
    assert [(p["Pledger"], p["Due date"]) for p in pledges] == [("RC-NGO", "2027-02-01"), ("Mexico", "2027-03-01")]
    champions = csv_table(archive.read("champion_countries.csv"))
    assert champions[0] == ["Country code", "Country", "Start date", "End date", "Change"]
    page = (await client.get(url, params=SPRING, headers={"Accept": "text/html"})).text
    for heading in ("Workplan activities by status", "Overdue activities", "Outputs published", "Champion countries"):
        assert f"<h2>{heading}</h2>" in page
    assert "Kenya" in page and "Guidance note" in page
