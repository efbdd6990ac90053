"""Exports: every list as CSV and NDJSON (the whole collection, streamed), with the list's
columns, filters, order and visibility, and the reports' formula guard."""

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from httpx import ASGITransport, AsyncClient

from services.database import get_database
from services.entities.models import EntityKind
from services.meetings.schemas import InviteeIn, MeetingCreate
from services.meetings.service import create_meeting
from services.principals import SYSTEM
from services.tables import column_label
from services.working_groups.models import PostKind
from services.working_groups.schemas import PostCreate, WorkingGroupCreate
from services.working_groups.service import add_post, create_working_group
from tests.conftest import committed_admin_key
from tests.factories import make_entity, make_membership, make_network
from tests.served_app import served_app
from tests.spreadsheet import csv_records, csv_table
from tests.webhook_receiver import Receiver

CSV, NDJSON = "text/csv", "application/x-ndjson"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


async def _all_pages(client, path: str, **params) -> list[dict]:
    items, params = [], {"limit": 2, **params}
    while True:
        page = (await client.get(path, params=params)).json()
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        params["cursor"] = page["next_cursor"]


def _objects(text: str) -> list[dict]:
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


async def test_an_export_is_every_row_of_the_list_with_its_field_names(client, session):
    for n in range(5):
        await make_entity(session, acronym=f"EXP{n}", name=f"Export {n}")
    listed = await _all_pages(client, "/v1/entities")  # five pages of two... and the rest
    exported = await client.get("/v1/entities", params={"header": "fields"}, headers={"Accept": CSV})
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"] == 'attachment; filename="entities.csv"'
    header, *rows = csv_table(exported.content)
    assert header == list(listed[0])  # the JSON field names, in the JSON's order
    assert [r[0] for r in rows] == [item["id"] for item in listed]  # every row, in the list's order
    as_ndjson = await client.get("/v1/entities", headers={"Accept": NDJSON})
    assert as_ndjson.headers["content-type"] == NDJSON
    assert _objects(as_ndjson.text) == listed  # NDJSON parses back to the JSON items, exactly


async def test_csv_cells_are_the_reports_cells_and_nested_values_are_json(client, session):
    network = await make_network(session)
    member = await make_entity(session, acronym="EXP-NEST", name='=HYPERLINK("http://x.example","click")')
    await make_membership(session, network_id=network["id"], entity_id=member["id"])
    entities = {
        r["acronym"]: r
        for r in csv_records(
            (await client.get("/v1/entities", params={"header": "fields"}, headers={"Accept": CSV})).content
        )
    }
    assert entities["EXP-NEST"]["name"] == '\'=HYPERLINK("http://x.example","click")'  # formula guard
    assert entities["EXP-NEST"]["un_system"] == "yes"
    assert json.loads(entities["EXP-NEST"]["identifiers"]) == []
    ndjson = _objects((await client.get("/v1/entities", headers={"Accept": NDJSON})).text)
    assert {r["acronym"]: r for r in ndjson}["EXP-NEST"]["name"].startswith("=HYPERLINK")  # NDJSON is data, not a sheet
    memberships = csv_records(
        (
            await client.get(
                "/v1/memberships", params={"entity_id": str(member["id"]), "header": "fields"}, headers={"Accept": CSV}
            )
        ).content
    )
    assert len(memberships) == 1
    assert json.loads(memberships[0]["entity"]) == {
        "id": str(member["id"]),
        "acronym": "EXP-NEST",
        "name": member["name"],
    }


async def test_an_export_applies_the_lists_filters(client, session):
    await make_entity(session, acronym="EXP-UN")
    await make_entity(session, acronym="EXP-CSO", kind=EntityKind.CIVIL_SOCIETY)
    exported = await client.get("/v1/entities", params={"kind": "civil_society"}, headers={"Accept": NDJSON})
    assert {r["acronym"] for r in _objects(exported.text)} == {
        r["acronym"] for r in await _all_pages(client, "/v1/entities", kind="civil_society")
    }
    assert "EXP-CSO" in exported.text and "EXP-UN" not in exported.text


async def test_an_empty_export_is_a_header_alone(client):
    exported = await client.get("/v1/webhook-endpoints", headers={"Accept": CSV})
    assert exported.status_code == 200
    assert csv_table(exported.content)[0][0] == "ID" and exported.text.count("\r\n") == 1
    assert (await client.get("/v1/webhook-endpoints", headers={"Accept": NDJSON})).text == ""


async def test_unservable_accept_is_406_and_paging_an_export_is_422(client):
    refused = await client.get("/v1/entities", headers={"Accept": "application/pdf"})
    assert refused.status_code == 406 and refused.headers["content-type"] == "application/problem+json"
    paged = await client.get("/v1/entities", params={"limit": 5}, headers={"Accept": CSV})
    assert paged.status_code == 422 and paged.json()["type"] == "/problems/export-not-paged"
    as_json = await client.get("/v1/entities", headers={"Accept": "application/json"})
    assert as_json.status_code == 200 and as_json.headers["vary"] == "Accept"  # caches keep the three apart


async def test_an_export_shows_a_caller_only_what_the_list_shows_it(make_client, session, receiver):
    first, second = await make_entity(session, acronym="EXP-FP1"), await make_entity(session, acronym="EXP-FP2")
    admin = await make_client("admin")
    for entity in (first, second):
        for n in range(2):
            made = await admin.post(
                "/v1/api-keys", json={"name": f"fp {n}", "role": "focal_point", "entity_id": str(entity["id"])}
            )
            assert made.status_code == 201
    focal_point = await make_client("focal_point", entity_id=first["id"])
    other = await make_client("focal_point", entity_id=second["id"])
    for client, entity in ((focal_point, first), (other, second)):
        keys = _objects((await client.get("/v1/api-keys", headers={"Accept": NDJSON})).text)
        assert {k["entity_id"] for k in keys} == {str(entity["id"])}
        assert len(keys) == 3  # the two made for its entity, and its own
        assert [k["id"] for k in keys] == [k["id"] for k in await _all_pages(client, "/v1/api-keys")]
    mine, theirs = await make_client("integrator"), await make_client("integrator")
    endpoint = (await mine.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["*"]})).json()
    assert [e["id"] for e in _objects((await mine.get("/v1/webhook-endpoints", headers={"Accept": NDJSON})).text)] == [
        endpoint["id"]
    ]
    assert (await theirs.get("/v1/webhook-endpoints", headers={"Accept": NDJSON})).text == ""


async def test_personal_addresses_are_exported_to_admins_only(client, make_client, session):
    network = await make_network(session)
    starts = datetime.now(UTC) + timedelta(days=40)
    await create_meeting(
        session,
        data=MeetingCreate(
            network_id=network["id"],
            kind="extended_membership",
            title="Annual meeting",
            starts_at=starts,
            ends_at=starts + timedelta(hours=3),
            time_zone="UTC",
            location="Geneva",
            invitees=[InviteeIn(name="Migrant Forum", email="mf@example.org")],
        ),
        actor=SYSTEM,
    )
    await session.flush()
    for media in (CSV, NDJSON):
        assert "mf@example.org" in (await client.get("/v1/meetings", headers={"Accept": media})).text
        reader = await make_client("reader")
        exported = (await reader.get("/v1/meetings", headers={"Accept": media})).text
        assert "Migrant Forum" in exported and "mf@example.org" not in exported


async def _workplan_with_commitments(client, network, lead):
    """Two of each: workplans' activities, champion countries and pledges to export."""
    workplan = None
    for year in (2021, 2022):
        body = {"network_id": str(network["id"]), "title": f"Workplan {year}"}
        response = await client.post(
            "/v1/workplans", json=body | {"start_date": f"{year}-01-01", "end_date": f"{year}-12-31"}
        )
        assert response.status_code == 201, response.text
        workplan = response.json()
    assert workplan is not None
    for title in ("First", "Second, with a comma"):
        activity = {"title": title, "lead_entity_ids": [str(lead["id"])], "start_date": "2022-02-01"}
        response = await client.post(f"/v1/workplans/{workplan['id']}/activities", json=activity)
        assert response.status_code == 201, response.text
    for code in ("MX", "KE"):
        champion = {"country_code": code, "start_date": "2022-01-01"}
        assert (await client.post(f"/v1/networks/{network['id']}/champion-countries", json=champion)).status_code == 201
        pledge = {
            "network_id": str(network["id"]),
            "pledger_country_code": code,
            "title": "=1+1",
            "due_date": "2030-01-01",
        }
        assert (await client.post("/v1/pledges", json=pledge)).status_code == 201
    return workplan


async def _person_with_post(client, entity) -> dict:
    """A focal point of ``entity``, named, with a post for it."""
    body = {"entity_id": str(entity["id"]), "name": "Example Person, Export", "email": "export.person@example.org"}
    made = await client.post("/v1/people", json=body)
    assert made.status_code == 201, made.text
    person = made.json()
    post = {"entity_id": str(entity["id"]), "start_date": "2024-01-01"}
    assert (await client.post(f"/v1/people/{person['id']}/posts", json=post)).status_code == 201
    return person


async def test_people_and_their_posts_are_exported_to_the_secretariat_only(client, make_client, session):
    """Names and e-mail addresses are personal data: the secretariat exports them whole;
    anyone else, even a focal point of the person's own entity (who reads them a page at a
    time), is refused the export, and pages of the list still answer."""
    entity = await make_entity(session, acronym="EXP-PPL")
    person = await _person_with_post(client, entity)
    exported = await client.get("/v1/people", params={"header": "fields"}, headers={"Accept": CSV})
    people = csv_records(exported.content)
    row = next(r for r in people if r["id"] == person["id"])
    assert (row["name"], row["email"], row["entity_id"]) == (
        "Example Person, Export",
        "export.person@example.org",
        str(entity["id"]),
    )
    posts = _objects((await client.get(f"/v1/people/{person['id']}/posts", headers={"Accept": NDJSON})).text)
    assert [(p["entity_id"], p["start_date"], p["end_date"]) for p in posts] == [
        (str(entity["id"]), "2024-01-01", None)
    ]
    callers = {
        "own focal point": await make_client("focal_point", entity_id=entity["id"]),
        "reader": await make_client("reader"),
        "integrator": await make_client("integrator"),
    }
    for who, caller in callers.items():
        for path in ("/v1/people", f"/v1/people/{person['id']}/posts"):
            for media in (CSV, NDJSON):
                refused = await caller.get(path, headers={"Accept": media})
                assert refused.status_code == 403, (who, path, media, refused.text)
                assert refused.headers["content-type"] == "application/problem+json"
                assert "export.person@example.org" not in refused.text
            assert (await caller.get(path)).status_code == 200, (who, path)
    own = (await callers["own focal point"].get("/v1/people", params={"entity_id": str(entity["id"])})).json()
    assert [p["email"] for p in own["items"]] == ["export.person@example.org"]  # the page still shows it


async def test_every_list_route_exports_its_json_items(client, session, receiver):
    network = await make_network(session)
    member = await make_entity(session, acronym="EXP-WG")
    await make_membership(session, network_id=network["id"], entity_id=member["id"])
    group = await create_working_group(
        session, data=WorkingGroupCreate(network_id=network["id"], name="Exported", slug="exported"), actor=SYSTEM
    )
    for kind in (PostKind.CHAIR, PostKind.MEMBER):
        await add_post(
            session,
            group_id=group["id"],
            kind=kind,
            data=PostCreate(entity_id=member["id"], start_date="2020-01-01"),
            actor=SYSTEM,
        )
    await session.flush()
    endpoint = (await client.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["*"]})).json()
    workplan = await _workplan_with_commitments(client, network, member)
    person = await _person_with_post(client, member)
    ids = {
        "network_id": network["id"],
        "group_id": group["id"],
        "endpoint_id": endpoint["id"],
        "workplan_id": workplan["id"],
        "person_id": person["id"],
    }

    document = (await client.get("/openapi.json")).json()
    exportable = {
        path
        for path, operations in document["paths"].items()
        if "get" in operations and NDJSON in operations["get"]["responses"]["200"].get("content", {})
    }
    paged = {
        path
        for path, operations in document["paths"].items()
        if "get" in operations and "next_cursor" in json.dumps(operations["get"]["responses"]["200"])
    }
    assert paged <= exportable, paged - exportable  # every paged list exports
    tested = set()
    for path in sorted(exportable - {"/v1/events"}):  # the feed has its own test (it serves committed events)
        try:
            url = path.format(**ids)
        except KeyError:
            continue  # /v1/reviews/{review_id}/recommendations: reviews open on the scheduler's clock
        listed = await _all_pages(client, url)
        exported = await client.get(url, headers={"Accept": CSV})
        assert exported.status_code == 200, (path, exported.text)
        header, *rows = csv_table(exported.content)
        assert [r[0] for r in rows] == [item["id"] for item in listed], path
        fields = csv_table((await client.get(url, params={"header": "fields"}, headers={"Accept": CSV})).content)
        assert fields[1:] == rows, path  # the header differs, the rows do not
        if listed:
            assert fields[0] == list(listed[0]), path  # the JSON field names, for programs
            assert header == [column_label(name) for name in listed[0]], path  # and for people
            tested.add(path)
        ndjson = (await client.get(url, headers={"Accept": NDJSON})).text
        assert (_objects(ndjson) if ndjson else []) == listed, path
    assert {
        "/v1/entities",
        "/v1/networks",
        "/v1/networks/{network_id}/memberships",
        "/v1/memberships",
        "/v1/working-groups",
        "/v1/working-groups/{group_id}/chairs",
        "/v1/working-groups/{group_id}/members",
        "/v1/webhook-endpoints",
        "/v1/api-keys",
        "/v1/audit-log",
        "/v1/workplans",
        "/v1/workplans/{workplan_id}/activities",
        "/v1/networks/{network_id}/champion-countries",
        "/v1/pledges",
        "/v1/people",
        "/v1/people/{person_id}/posts",
    } <= tested
    deliveries = await client.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers={"Accept": CSV})
    assert deliveries.content.decode("utf-8-sig").startswith("ID,Webhook ID,")  # as each JSON delivery starts


@pytest.fixture
async def committed_client(committed):
    headers = {"Authorization": f"Bearer {await committed_admin_key()}"}
    async with AsyncClient(transport=ASGITransport(app=served_app()), base_url="http://t", headers=headers) as client:
        yield client


async def test_the_events_export_is_the_feed_each_reader_may_read(committed_client, receiver):
    """The feed serves committed events only, so this test commits: each role's export from a
    cursor holds exactly the events its paged feed holds (its own key's and endpoints' events,
    no one else's)."""
    admin = committed_client
    start = (await admin.get("/v1/events", params={"limit": 200})).json()["next_cursor"]
    while True:  # to the head of the log
        page = (await admin.get("/v1/events", params={"limit": 200, "after": start})).json()
        if not page["items"]:
            break
        start = page["next_cursor"]
    clients = {"admin": admin}
    for name in ("first", "second"):
        key = (await admin.post("/v1/api-keys", json={"name": name, "role": "integrator"})).json()["key"]
        clients[name] = AsyncClient(
            transport=admin._transport, base_url="http://t", headers={"Authorization": f"Bearer {key}"}
        )
    endpoint = (
        await clients["first"].post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["*"]})
    ).json()
    async with get_database().session() as session:
        await make_entity(session, acronym="EXP-FEED")
    # The feed serves a transaction once every older one in the cluster has ended: wait for it.
    deadline = time.monotonic() + 120
    while "EXP-FEED" not in (await admin.get("/v1/events", params={"after": start, "limit": 200})).text:
        assert time.monotonic() < deadline, "the change feed never served the new entity"
        await asyncio.sleep(0.5)
    for name, client in clients.items():
        paged, cursor = [], start
        while True:
            page = (await client.get("/v1/events", params={"limit": 3, "after": cursor})).json()
            paged += page["items"]
            if len(page["items"]) < 3:
                break
            cursor = page["next_cursor"]
        response = await client.get("/v1/events", params={"after": start}, headers={"Accept": NDJSON})
        assert response.status_code == 200, response.text
        exported = _objects(response.text)
        assert exported == paged, name
        subjects = {e["subject_id"] for e in exported}
        assert (endpoint["id"] in subjects) == (name in ("admin", "first")), name
        assert "EXP-FEED" in json.dumps(exported)
    for client in clients.values():
        if client is not admin:
            await client.aclose()


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("entity_acronym", "Entity acronym"),
        ("parent_id", "Parent ID"),
        ("un_system", "UN system"),
        ("mou_areas", "MoU areas"),
        ("membership.core", "Membership core"),
        ("sha256", "SHA-256"),
    ],
)
def test_a_csv_header_names_a_column_in_words(field, label):
    assert column_label(field) == label


async def test_a_csv_header_style_other_than_labels_or_fields_is_a_422_naming_the_parameter(client):
    refused = await client.get("/v1/entities", params={"header": "names"}, headers={"Accept": CSV})
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["parameter"] == "header" and error["detail"] == "Input should be 'labels' or 'fields'"
