"""What a request carries is checked before it is parsed (api/input.py): deep JSON, bytes that
are not UTF-8 and unknown query parameters are each a 422 that says what was wrong, on every
route, never a 500 (docs/API.md, "Limits")."""

import logging
from datetime import date

import pytest

from api.input import json_depth_exceeds
from services.schemas import MAX_JSON_DEPTH
from tests.factories import make_entity, make_membership, make_network

BODY_ROUTES = ("/v1/calendar-subscriptions", "/v1/entities", "/v1/webhook-endpoints")


def nested(depth: int) -> bytes:
    return b'{"name":' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("path", BODY_ROUTES)
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 321, 999, 1000, 100_000])
async def test_deep_json_is_a_422_naming_the_limit_never_a_500(client, path, depth, caplog):
    caplog.set_level(logging.ERROR)
    response = await client.post(path, content=nested(depth), headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"], problem
    if depth + 1 > MAX_JSON_DEPTH:  # the object around the arrays is a level too
        assert problem["errors"] == [
            {
                "detail": "The body's JSON is nested deeper than 32 levels of arrays and objects; "
                "no request of this API needs more.",
                "location": "body",
                "pointer": "#",
                "type": "json_too_deep",
            }
        ]
    else:
        assert "nested deeper" not in response.text  # within the limit: the field's own problem
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("role", ["reader", "integrator", "focal_point"])
async def test_deep_json_from_any_role_is_the_same_422(make_client, session, role, caplog):
    """The body that gave a 500 from a reader key: 321 levels of arrays in a calendar
    subscription, which every role may create; the admin's case is above."""
    caplog.set_level(logging.ERROR)
    entity = await make_entity(session, acronym="DEEP")
    caller = await make_client(role, entity_id=entity["id"] if role == "focal_point" else None)
    response = await caller.post(
        "/v1/calendar-subscriptions", content=nested(321), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert [e["type"] for e in response.json()["errors"]] == ["json_too_deep"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_brackets_inside_strings_do_not_count_as_nesting(client):
    name = "[" * 100 + "{" * 100
    response = await client.post(
        "/v1/calendar-subscriptions",
        json={"name": "x", "scope": "network", "subject_id": "00000000-0000-0000-0000-000000000000", "note": name},
    )
    assert "nested deeper" not in response.text
    assert not json_depth_exceeds(b'["\\"[[[[", "]]]"]', 1)
    assert json_depth_exceeds(b'[["\\\\"]]', 1)  # an escaped backslash ends before the quote
    assert json_depth_exceeds(b"[[", 1)  # unbalanced: counted all the same


async def test_a_body_that_is_not_utf8_names_the_byte(client):
    response = await client.post(
        "/v1/entities", content=b'{"name": "Caf\xe9"}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["detail"] == (
        "The body is not UTF-8: byte 0xe9 at offset 13 cannot start or continue a UTF-8 character. "
        "Send JSON encoded as UTF-8."
    )


# --- unknown query parameters ----------------------------------------------------------------


@pytest.fixture
async def past_and_present(session):
    """A network with a member that left in 2020 and one that joined in 2021."""
    network = await make_network(session)
    left = await make_entity(session, acronym="LEFT")
    joined = await make_entity(session, acronym="JOINED")
    await make_membership(
        session, network_id=network["id"], entity_id=left["id"], start_date=date(2018, 1, 1), end_date=date(2020, 1, 1)
    )
    await make_membership(session, network_id=network["id"], entity_id=joined["id"], start_date=date(2021, 1, 1))
    return network


async def test_a_misspelt_filter_is_a_422_naming_it_and_the_nearest_ones(client, past_and_present):
    path = f"/v1/networks/{past_and_present['id']}/memberships"
    as_of = await client.get(path, params={"as_of": "2018-06-01"})
    assert [m["entity"]["acronym"] for m in as_of.json()["items"]] == ["LEFT"], as_of.text
    for misspelt, meant in (("asof", "as_of"), ("curent", "current")):
        response = await client.get(path, params={misspelt: "2018-06-01" if meant == "as_of" else "true"})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        (error,) = response.json()["errors"]
        assert error["parameter"] == misspelt
        assert error["type"] == "unknown_parameter"
        assert f"'{misspelt}' is not a parameter of this route; did you mean '{meant}'" in error["detail"]
        assert "it takes: as_of, current, cursor, entity_id, header, limit, tier" in error["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/entities",
        "/v1/memberships",
        "/healthz",
        "/v1/events",
        "/v1/gcm/objectives",
        "/v1/event-types",
    ],
)
async def test_every_route_refuses_unknown_parameters(client, path):
    response = await client.get(path, params={"bogus": "1"})
    assert response.status_code == 422, (path, response.text)
    assert response.json()["errors"][0]["parameter"] == "bogus"


async def test_a_write_refuses_unknown_parameters_after_the_access_checks(client, make_client, session):
    reader = await make_client("reader")
    body = {"acronym": "QRY", "name": "Query", "kind": "un_system"}
    refused = await reader.post("/v1/entities?dry_run=1", json=body)
    assert refused.status_code == 403  # a caller who may not write learns nothing else
    response = await client.post("/v1/entities?dry_run=1", json=body)
    assert response.status_code == 422
    assert "'dry_run' is not a parameter of this route, which takes no query parameters." in response.text
    assert (await client.get("/v1/entities", params={"acronym": "QRY"})).json()["items"] == []


async def test_a_control_character_in_a_query_or_path_value_is_a_422_naming_it(client):
    response = await client.get("/v1/audit-log", params={"principal_id": "key:a\nb"})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["parameter"] == "principal_id"
    assert "contains a line feed (U+000A) at position 5" in error["detail"]
    response = await client.get("/v1/entities/%0A")
    assert response.status_code == 422
    assert response.json()["errors"][0]["parameter"] == "entity_id"
