"""The API contract: a valid OpenAPI document that says what the service does, and complete
problem+json for every mistake a client can make, never a 500."""

import json
import re

import pytest
from openapi_spec_validator import validate

from api.route_table import route_table
from tests.conftest import ROOT
from tests.factories import make_entity, make_membership, make_network
from tests.served_app import served_app

WRITE = {"post", "put", "patch", "delete"}


@pytest.fixture
async def document(client) -> dict:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


async def test_the_document_is_valid_openapi(document):
    validate(document)  # raises on any error, a dangling $ref included


async def test_every_problem_status_is_documented_as_problem_json(document):
    """Every refusal is problem+json, but a link's page's: a person holds the link, and reads
    why it was refused on a page (the route declares it a capability: ``Access(capability=...)``)."""
    pages = {
        (method.lower(), entry.path): entry.access.capability.problem_statuses
        for entry in route_table(served_app())
        if entry.access is not None and entry.access.capability is not None
        for method in entry.methods
    }
    assert pages, "no capability route: the invitation links' pages are gone"
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) in pages.get((method, path), ()):
                assert list(response["content"]) == ["text/html"], (method, path, status)
            elif int(status) >= 400:
                assert list(response["content"]) == ["application/problem+json"], (method, path, status)
        if path.startswith("/v1/"):
            assert {"401", "429", "500"} <= set(operation["responses"]), (method, path)
        if method in WRITE and path.startswith("/v1/"):
            assert "403" in operation["responses"], (method, path)
        if "requestBody" in operation:
            assert {"413", "415", "422"} <= set(operation["responses"]), (method, path)
        for parameter in operation.get("parameters", []):
            if parameter["name"].lower() == "if-match" and parameter.get("required"):
                assert {"412", "428"} <= set(operation["responses"]), (method, path)


async def test_the_domain_doc_lists_no_collection_the_api_serves_as_not_yet_held(document):
    """docs/DOMAIN.md ends with what the registry does not record; a collection of /v1 that
    names the subject of one of its items (its first words) contradicts it."""
    domain = (ROOT / "docs" / "DOMAIN.md").read_text()
    section = domain.split("## Not yet held", 1)[1].split("\n## ", 1)[0]
    subjects = [" ".join(item.split()[:4]).lower() for item in re.findall(r"^- (.+)$", section, re.MULTILINE)]
    assert subjects
    collections = {path.split("/")[2].replace("-", " ") for path in document["paths"] if path.startswith("/v1/")}
    assert "people" in collections
    for subject in subjects:
        assert not {c for c in collections if re.search(rf"\b{c}\b", subject)}, subject


async def test_media_types_bounds_and_statuses_are_the_real_ones(document):
    paths = document["paths"]
    for path in ("/v1/meetings/{meeting_id}.ics", "/v1/networks/{network_id}/calendar.ics"):
        assert list(paths[path]["get"]["responses"]["200"]["content"]) == ["text/calendar"]
    assert "text/csv" in paths["/v1/networks/{network_id}/coverage"]["get"]["responses"]["200"]["content"]
    limit = next(p for p in paths["/v1/entities"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["anyOf"][0]["maximum"] == 200
    assert "202" in paths["/v1/webhook-endpoints/{endpoint_id}/replay"]["post"]["responses"]
    deliveries = paths["/v1/webhook-endpoints/{endpoint_id}/deliveries"]["get"]["responses"]["200"]
    assert deliveries["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/DeliveryOutPage"


async def test_405_lists_the_methods_that_exist(client, session):
    entity = await make_entity(session, acronym="ALLOW")
    response = await client.put(f"/v1/entities/{entity['id']}", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PATCH"
    assert response.json()["instance"] == f"/v1/entities/{entity['id']}"


def assert_validation_problem(response, *, pointer: str | None = None, parameter: str | None = None) -> dict:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail", "instance", "errors"} <= set(body)
    assert "Value error" not in response.text
    if pointer is not None:
        assert pointer in [e.get("pointer") for e in body["errors"]], body
    if parameter is not None:
        assert parameter in [e.get("parameter") for e in body["errors"]], body
    return body


async def test_validation_problems_point_at_the_field_for_a_person(client):
    body = assert_validation_problem(
        await client.post("/v1/entities", json={"acronym": "X", "kind": "un_system", "website": 5}),
        pointer="#/name",
    )
    assert body["instance"] == "/v1/entities"
    assert "#/website" in [e.get("pointer") for e in body["errors"]]
    assert all(not e["detail"].startswith("Value error") for e in body["errors"])
    assert_validation_problem(await client.get("/v1/entities", params={"limit": 0}), parameter="limit")


async def test_a_body_that_is_not_json_is_415_naming_json(client):
    for headers in ({"content-type": "text/plain"}, {"content-type": "application/x-www-form-urlencoded"}, {}):
        response = await client.post("/v1/entities", content=b'{"acronym": "X"}', headers=headers)
        if not headers:  # httpx sends no content type for raw bytes
            assert "content-type" not in response.request.headers
        assert response.status_code == 415, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "application/json" in response.json()["detail"]
        assert response.json()["instance"] == "/v1/entities"


async def test_malformed_json_and_malformed_utf8_are_the_same_422(client):
    for raw in (b'{"acronym": ', b'{"acronym": "\xff\xfe"}'):
        response = await client.post("/v1/entities", content=raw, headers={"content-type": "application/json"})
        body = assert_validation_problem(response, pointer="#")
        assert body["type"] == "/problems/validation-error"


async def test_a_too_large_body_problem_has_an_instance(client):
    response = await client.post("/v1/entities", content=b"x" * 2_000_000, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["instance"] == "/v1/entities"


async def test_numbers_are_never_dates(client, session):
    assert_validation_problem(await client.get("/v1/audit-log", params={"until": "0.5"}), parameter="until")
    assert_validation_problem(await client.get("/v1/memberships", params={"as_of": "1700000000"}), parameter="as_of")
    network = await make_network(session)
    entity = await make_entity(session, acronym="NUMDATE")
    response = await client.post(
        f"/v1/networks/{network['id']}/memberships",
        json={"entity_id": str(entity["id"]), "tier": "extended", "start_date": 0},
    )
    assert_validation_problem(response, pointer="#/start_date")


async def test_dates_outside_the_registry_domain_are_422_naming_the_range(client, session):
    network = await make_network(session)
    entity = await make_entity(session, acronym="OLDDATE")
    for start in ("0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"):
        response = await client.post(
            f"/v1/networks/{network['id']}/memberships",
            json={"entity_id": str(entity["id"]), "tier": "extended", "start_date": start},
        )
        body = assert_validation_problem(response, pointer="#/start_date")
        assert "1900-01-01 and 2999-12-31" in body["detail"]
    assert_validation_problem(await client.get("/v1/memberships", params={"as_of": "0001-01-01"}), parameter="as_of")


def meeting(network_id, starts_at: str, ends_at: str, zone: str = "UTC") -> dict:
    return {
        "network_id": str(network_id),
        "kind": "executive_committee",
        "title": "Edge of time",
        "starts_at": starts_at,
        "ends_at": ends_at,
        "time_zone": zone,
        "location": "Geneva",
    }


async def test_meetings_at_the_edges_of_time_are_refused_or_work(client, session):
    network = await make_network(session)
    for starts, ends, zone in (
        ("0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z", "UTC"),
        ("9999-12-31T23:00:00Z", "9999-12-31T23:30:00Z", "Pacific/Kiritimati"),
        ("1899-12-31T23:00:00-01:00", "1900-01-01T01:00:00Z", "Etc/GMT+12"),
        ("3000-01-01T00:00:00+14:00", "3000-01-01T01:00:00+14:00", "Pacific/Kiritimati"),
    ):
        response = await client.post("/v1/meetings", json=meeting(network["id"], starts, ends, zone))
        assert_validation_problem(response, pointer="#/starts_at")
    latest = await client.post(
        "/v1/meetings",
        json=meeting(network["id"], "2999-12-31T22:00:00Z", "2999-12-31T23:00:00Z", "Pacific/Kiritimati"),
    )
    assert latest.status_code == 201, latest.text
    ics = await client.get(f"/v1/meetings/{latest.json()['id']}.ics")
    assert ics.status_code == 200 and "DTSTART;TZID=Pacific/Kiritimati:30000101T" in ics.text
    assert (await client.get(f"/v1/networks/{network['id']}/calendar.ics")).status_code == 200


async def test_a_mou_review_date_stays_inside_the_domain(client, session):
    network = await make_network(session)
    a = await make_entity(session, acronym="MOUA")
    b = await make_entity(session, acronym="MOUB")
    for entity in (a, b):
        await make_membership(session, network_id=network["id"], entity_id=entity["id"])
    body = {
        "network_id": str(network["id"]),
        "title": "Far future",
        "reference_number": "FAR/1",
        "party_entity_ids": [str(a["id"]), str(b["id"])],
    }
    refused = await client.post("/v1/mous", json={**body, "effective_date": "9999-12-31"})
    assert_validation_problem(refused, pointer="#/effective_date")
    latest = await client.post("/v1/mous", json={**body, "effective_date": "2999-12-31"})
    assert latest.status_code == 201, latest.text
    assert latest.json()["review_due_date"] == "2999-12-31"


async def test_nul_characters_are_422_not_500(client, session):
    body = assert_validation_problem(
        await client.post("/v1/entities", json={"acronym": "NUL", "name": "A\x00B", "kind": "un_system"}),
        pointer="#/name",
    )
    assert "NUL" in body["detail"]
    # In a query filter too: a validation problem naming the parameter, before any SQL.
    for path, params in (
        ("/v1/entities", {"acronym": "\u6bd5\x00\x1a"}),  # found by schemathesis
        ("/v1/audit-log", {"principal_id": "user:a\x00"}),
        ("/v1/events", {"subject_type": "entity\x00"}),
    ):
        (parameter,) = params
        body = assert_validation_problem(await client.get(path, params=params), parameter=parameter)
        assert "NUL" in body["detail"] or "pattern" in body["detail"], body


async def test_query_filters_refuse_what_no_record_can_match(client, session):
    await make_entity(session, acronym="WFP")
    for params in ({"type": "-2.9259528209389602e+166"}, {"type": "Meeting.Created"}, {"subject_type": "Entity"}):
        assert_validation_problem(await client.get("/v1/events", params=params), parameter=next(iter(params)))
    assert_validation_problem(
        await client.get("/v1/audit-log", params={"resource_type": "a b"}), parameter="resource_type"
    )
    assert_validation_problem(await client.get("/v1/entities", params={"acronym": "\u2603"}), parameter="acronym")
    for params in ({"type": ["meeting.*", "entity.created"]}, {"type": "*"}, {"subject_type": "working_group"}):
        assert (await client.get("/v1/events", params=params)).status_code == 200, params
    found = await client.get("/v1/entities", params={"acronym": "wfp"})
    assert [e["acronym"] for e in found.json()["items"]] == ["WFP"]


async def test_a_value_the_database_refuses_is_a_422_with_errors():
    from sqlalchemy.exc import DBAPIError
    from starlette.requests import Request

    from api.errors import _database_error

    class CharacterNotInRepertoire(Exception):
        sqlstate = "22021"

    scope = {"type": "http", "method": "GET", "path": "/v1/entities", "headers": [], "query_string": b""}
    response = await _database_error(Request(scope), DBAPIError("SELECT 1", {}, CharacterNotInRepertoire()))
    body = json.loads(response.body)
    assert response.status_code == 422 and body["type"] == "/problems/invalid-value"
    assert body["errors"] == [{"detail": body["detail"], "location": "request", "type": "invalid-value"}]


async def test_cursors_holding_huge_numbers_are_422(client):
    import base64

    for position in (2**63, 2**64 + 5, 10**40):
        cursor = base64.urlsafe_b64encode(b"e1:" + str(position).encode()).decode().rstrip("=")
        response = await client.get("/v1/events", params={"after": cursor})
        assert response.status_code == 422, response.text
        assert response.json()["type"] == "/problems/invalid-cursor"
