"""Champion countries (dated, checked against ISO 3166-1) and pledges followed up: a
reminder before the due date and an overdue pledge's event and e-mail, each once."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from services.clock import clock
from services.commitments.schemas import PledgeCreate
from services.commitments.service import create_pledge, follow_up_pledges
from services.database import get_database
from services.events.models import Event
from services.principals import SYSTEM
from services.settings import get_settings, use_settings
from tests.factories import make_entity, make_network
from tests.smtp_server import smtp_server
from tests.stub_worker import broker, drain


async def test_champion_countries_are_dated_and_checked(client, session):
    network = await make_network(session)
    url = f"/v1/networks/{network['id']}/champion-countries"
    mexico = await client.post(url, json={"country_code": "MX", "start_date": "2020-09-01"})
    assert mexico.status_code == 201, mexico.text
    kenya = await client.post(url, json={"country_code": "KE", "start_date": "2021-03-01", "end_date": "2022-12-31"})
    assert kenya.status_code == 201, kenya.text
    unknown = await client.post(url, json={"country_code": "ZZ", "start_date": "2021-01-01"})
    assert unknown.status_code == 422 and "not an ISO 3166-1 country code" in unknown.text
    overlap = await client.post(url, json={"country_code": "MX", "start_date": "2021-01-01"})
    assert overlap.status_code == 409 and "MX (Mexico) already champions this network from 2020-09-01" in overlap.text
    assert (await client.post(url, json={"country_code": "KE", "start_date": "2023-01-01"})).status_code == 201
    in_2022 = await client.get(url, params={"as_of": "2022-06-01"})
    assert sorted(c["country_code"] for c in in_2022.json()["items"]) == ["KE", "MX"]
    in_2020 = await client.get(url, params={"as_of": "2020-12-31"})
    assert [c["country_code"] for c in in_2020.json()["items"]] == ["MX"]
    assert len((await client.get(url)).json()["items"]) == 3


async def test_pledges_by_a_country_or_a_stakeholder_and_their_status(client, session):
    network = await make_network(session)
    ngo = await make_entity(session, acronym="PL-NGO")
    base = {"network_id": str(network["id"]), "title": "Regular pathways", "due_date": "2030-01-01"}
    by_country = await client.post("/v1/pledges", json=base | {"pledger_country_code": "MX", "gcm_objectives": [5]})
    assert by_country.status_code == 201, by_country.text
    by_entity = await client.post("/v1/pledges", json=base | {"pledger_entity_id": str(ngo["id"])})
    assert (
        by_entity.json()["pledger_entity"]["acronym"] == "PL-NGO" and by_entity.json()["pledger_country_code"] is None
    )
    both = await client.post(
        "/v1/pledges", json=base | {"pledger_country_code": "MX", "pledger_entity_id": str(ngo["id"])}
    )
    assert both.status_code == 422 and "name the pledger once" in both.text
    assert (await client.post("/v1/pledges", json=base | {"pledger_country_code": "XY"})).status_code == 422
    assert (
        await client.post("/v1/pledges", json=base | {"pledger_country_code": "MX", "gcm_objectives": [24]})
    ).status_code == 422
    url = f"/v1/pledges/{by_country.json()['id']}/status"
    assert (await client.post(url, json={"status": "fulfilled"})).json()["status"] == "fulfilled"
    final = await client.post(url, json={"status": "in_progress"})
    assert final.status_code == 409 and "it no longer changes" in final.json()["detail"]
    listed = await client.get("/v1/pledges", params={"network_id": str(network["id"]), "status": "announced"})
    assert [p["id"] for p in listed.json()["items"]] == [by_entity.json()["id"]]
    on_objective_5 = await client.get("/v1/pledges", params={"network_id": str(network["id"]), "objective": 5})
    assert [p["id"] for p in on_objective_5.json()["items"]] == [by_country.json()["id"]]


@pytest.fixture
def smtp():
    with smtp_server() as (inbox, port):
        previous = get_settings()
        use_settings(previous.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port}))
        yield inbox
        use_settings(previous)


async def _relay_and_send():
    from worker.events import relay_events

    broker.flush_all()
    await drain(threads=2, then=relay_events.send)


async def test_an_overdue_pledge_raises_its_event_and_e_mail_once(committed, smtp):
    # In the future: e-mails are sent once due by the real clock too.
    clock.freeze(datetime(2027, 4, 1, 9, tzinfo=UTC))
    async with get_database().session() as session:
        coordinator = await make_entity(session, acronym="PL-COORD", contact_email="coordinator@un.example")
        network = await make_network(session, coordinator_id=coordinator["id"])
        ngo = await make_entity(session, acronym="PL-NGO2", contact_email="pledges@ngo.example")
        for pledger in ({"pledger_country_code": "MX"}, {"pledger_entity_id": ngo["id"]}):
            data = PledgeCreate(network_id=network["id"], title="Pathways", due_date=date(2027, 5, 1), **pledger)
            await create_pledge(session, data=data, actor=SYSTEM)
    offsets = [30, 7]
    for day, expected in (
        (date(2027, 4, 5), {"due_soon": 2, "overdue": 0}),  # within 30 days
        (date(2027, 4, 6), {"due_soon": 0, "overdue": 0}),  # told already
        (date(2027, 4, 25), {"due_soon": 2, "overdue": 0}),  # within 7 days
        (date(2027, 5, 2), {"due_soon": 0, "overdue": 2}),
        (date(2027, 5, 3), {"due_soon": 0, "overdue": 0}),  # a second sweep: nothing new
    ):
        async with get_database().session() as session:
            assert await follow_up_pledges(session, today=day, offsets=offsets) == expected, day
    await _relay_and_send()
    overdue = [m for m in smtp.messages if m["Subject"].startswith("Pledge overdue since 1 May 2027")]
    assert sorted(m["To"] for m in overdue) == [
        "coordinator@un.example",
        "coordinator@un.example",
        "pledges@ngo.example",
    ]
    reminders = [m for m in smtp.messages if m["Subject"].startswith("Pledge due 1 May 2027")]
    assert len(reminders) == 6  # two offsets; the coordinator for both pledges, the NGO for its own
    async with get_database().read() as conn:
        count = await conn.scalar(
            select(func.count()).where(Event.type == "pledge.overdue", Event.network_id == network["id"])
        )
    assert count == 2
