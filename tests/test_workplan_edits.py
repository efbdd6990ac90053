"""Edits of workplans, their activities and champion countries: merge patches under If-Match
whose dates stay within the workplan's period, a champion's period ended once, each with its
event and nothing half-written when refused."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.clock import clock
from services.events.models import Event
from services.networks.models import NetworkScope
from tests.factories import make_entity, make_network
from tests.test_api_conventions import assert_problem


async def _created(response):
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def world(client, session):
    clock.freeze(datetime(2024, 6, 1, 9, tzinfo=UTC))
    network = await make_network(session)
    other = await make_network(
        session, scope=NetworkScope.REGIONAL, region="ECA", parent_network_id=network["id"], name="Africa"
    )
    iom = await make_entity(session, acronym="ED-IOM")
    ngo = await make_entity(session, acronym="ED-NGO")
    body = {"network_id": str(network["id"]), "title": "Workplan", "start_date": "2022-01-01", "end_date": "2024-12-31"}
    workplan = await _created(await client.post("/v1/workplans", json=body))
    base = f"/v1/workplans/{workplan['id']}/activities"
    activity = {"lead_entity_ids": [str(iom["id"])], "status_changed_on": "2022-01-10"}
    first = await _created(
        await client.post(
            base, json=activity | {"title": "First", "start_date": "2022-03-01", "end_date": "2023-06-30"}
        )
    )
    second = await _created(
        await client.post(
            base, json=activity | {"title": "Second", "start_date": "2023-01-01", "end_date": "2024-10-31"}
        )
    )
    return network, other, iom, ngo, workplan, first, second


async def _events(session, event_type):
    return (await session.scalars(select(Event).where(Event.type == event_type).order_by(Event.id))).all()


async def test_a_workplan_is_retitled_and_redated_around_its_activities(client, session, world):
    _, _, _, _, workplan, _, _ = world
    url = f"/v1/workplans/{workplan['id']}"
    etag = (await client.get(url)).headers["etag"]
    assert_problem(await client.patch(url, json={"title": "Revised"}), 428, "if-match-required")
    shrink = await client.patch(url, json={"end_date": "2024-06-30"}, headers={"If-Match": etag})
    assert_problem(shrink, 422, "activities-outside-period")
    assert "Second (2023-01-01 to 2024-10-31)" in shrink.json()["detail"]
    late_start = await client.patch(url, json={"start_date": "2022-06-01"}, headers={"If-Match": etag})
    assert "1 activities would fall outside" in late_start.json()["detail"] and "First" in late_start.json()["detail"]
    reversed_period = await client.patch(url, json={"start_date": "2025-01-01"}, headers={"If-Match": etag})
    assert_problem(reversed_period, 422, "invalid-period")
    assert_problem(await client.patch(url, json={"title": None}, headers={"If-Match": etag}), 422, "required-field")
    changed = await client.patch(
        url, json={"title": "Workplan 2022-2025", "end_date": "2025-12-31"}, headers={"If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["end_date"] == "2025-12-31" and changed.json()["title"] == "Workplan 2022-2025"
    assert_problem(await client.patch(url, json={"title": "Again"}, headers={"If-Match": etag}), 412, "stale-etag")
    [event] = await _events(session, "workplan.updated")
    assert event.payload["changes"] == {
        "title": {"before": "Workplan", "after": "Workplan 2022-2025"},
        "end_date": {"before": "2024-12-31", "after": "2025-12-31"},
    }


async def test_an_activity_is_changed_within_its_workplan(client, session, world):
    _, other, iom, ngo, workplan, first, second = world
    url = f"/v1/workplans/{workplan['id']}/activities/{first['id']}"
    etag = (await client.get(url)).headers["etag"]

    async def patch(body, headers=None):
        return await client.patch(url, json=body, headers=headers or {"If-Match": etag})

    assert_problem(await patch({"end_date": "2025-01-31"}), 422, "outside-workplan-period")
    assert_problem(await patch({"start_date": "2023-07-01"}), 422, "end-before-start")
    assert_problem(await patch({"lead_entity_ids": []}), 422, "validation-error")
    assert_problem(await patch({"status": "completed"}), 422, "validation-error")
    group = await client.post(
        "/v1/working-groups", json={"network_id": str(other["id"]), "name": "Theirs", "slug": "theirs"}
    )
    assert_problem(await patch({"working_group_id": group.json()["id"]}), 422, "working-group-of-another-network")
    changed = await patch(
        {
            "title": "First, renamed",
            "lead_entity_ids": [str(ngo["id"]), str(iom["id"])],
            "gcm_objectives": [2, 7],
            "guiding_principles": ["human-rights"],
            "workstream": "Data",
            "end_date": "2023-09-30",
        }
    )
    assert changed.status_code == 200, changed.text
    activity = changed.json()
    assert [lead["acronym"] for lead in activity["leads"]] == ["ED-IOM", "ED-NGO"]
    assert (activity["title"], activity["gcm_objectives"], activity["end_date"]) == (
        "First, renamed",
        [2, 7],
        "2023-09-30",
    )
    [event] = await _events(session, "activity.updated")
    assert set(event.payload["changes"]) == {
        "title",
        "lead_entity_ids",
        "gcm_objectives",
        "guiding_principles",
        "workstream",
        "end_date",
    }
    assert_problem(await patch({"title": "Stale"}), 412, "stale-etag")
    # The other activity is untouched; an output pins the start.
    assert (await client.get(f"/v1/workplans/{workplan['id']}/activities/{second['id']}")).json()["title"] == "Second"
    output = {"title": "Note", "link": "https://example.org/n", "published_on": "2023-02-01"}
    second_url = f"/v1/workplans/{workplan['id']}/activities/{second['id']}"
    assert (await client.post(f"{second_url}/outputs", json=output)).status_code == 201
    second_etag = (await client.get(second_url)).headers["etag"]
    late = await client.patch(second_url, json={"start_date": "2023-03-01"}, headers={"If-Match": second_etag})
    assert_problem(late, 422, "output-before-activity")


async def test_a_completed_activity_keeps_its_end_date(client, world):
    _, _, _, _, workplan, first, _ = world
    url = f"/v1/workplans/{workplan['id']}/activities/{first['id']}"
    done = await client.post(f"{url}/status", json={"status": "completed", "changed_on": "2023-06-30"})
    assert done.status_code == 200, done.text
    cleared = await client.patch(url, json={"end_date": None}, headers={"If-Match": done.headers["etag"]})
    assert_problem(cleared, 422, "completed-needs-end")


async def test_a_champion_country_is_ended_once(client, session, world):
    network, other, _, _, _, _, _ = world
    url = f"/v1/networks/{network['id']}/champion-countries"
    mexico = await _created(await client.post(url, json={"country_code": "MX", "start_date": "2020-09-01"}))
    kenya = await _created(await client.post(url, json={"country_code": "KE", "start_date": "2021-03-01"}))
    assert_problem(
        await client.post(f"{url}/{mexico['id']}/end", json={"end_date": "2020-08-31"}), 422, "end-before-start"
    )
    assert_problem(
        await client.post(
            f"/v1/networks/{other['id']}/champion-countries/{mexico['id']}/end", json={"end_date": "2023-12-31"}
        ),
        404,
        "champion-country-not-found",
    )
    ended = await client.post(f"{url}/{mexico['id']}/end", json={"end_date": "2023-12-31"})
    assert ended.status_code == 200, ended.text
    assert ended.json()["end_date"] == "2023-12-31"
    again = await client.post(f"{url}/{mexico['id']}/end", json={"end_date": "2024-01-31"})
    assert_problem(again, 409, "champion-already-ended")
    assert "MX (Mexico) stopped championing this network on 2023-12-31" in again.json()["detail"]
    stale = await client.post(f"{url}/{kenya['id']}/end", json={"end_date": "2023-12-31"}, headers={"If-Match": '"7"'})
    assert_problem(stale, 412, "stale-etag")
    assert (await client.get(url, params={"as_of": "2024-01-15"})).json()["items"][0]["country_code"] == "KE"
    [event] = await _events(session, "champion_country.ended")
    assert event.payload["changes"] == {"end_date": {"before": None, "after": "2023-12-31"}}
