"""One order of checks on every write route: authentication (401), the caller's right to act
(403, or 404 for a record it may not see), existence (404), validation (422), preconditions
(428/412), rules (409). A caller who may not write learns nothing else: not that its body is
malformed, nor its media type wrong, nor its ETag stale or missing."""

import itertools
import re
import uuid

import pytest

from api.path_records import RECORDS
from tests.write_routes import CALLERS, WRITE_ROUTES, build_world

# Requests that are wrong in every way a write can be wrong, after the caller's right to act.
BAD_REQUESTS = {
    "invalid body": {"json": {"no_such_field": 1}},
    "malformed json": {"content": b'{"no_such_field": ', "headers": {"content-type": "application/json"}},
    "not json": {"content": b"a=1", "headers": {"content-type": "application/x-www-form-urlencoded"}},
    "stale etag": {"json": {}, "headers": {"If-Match": '"999999"'}},
    "no etag": {"json": {}},
}


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_a_caller_without_the_right_to_act_learns_only_that(route, make_client, session):
    """Every caller the route's declaration refuses before the body is read (all but another
    entity's focal point where the body names the entity: the service decides after it)."""
    world = await build_world(session)
    url, _ = route.request(world)
    callers = {}
    for caller, (role, whose) in CALLERS.items():
        if route.refused_before_the_body(caller):
            entity = route.entity(world, whose)
            client = await make_client(role, entity_id=entity["id"] if entity else None)
            callers[caller] = (client, route.refusal(caller))
    for (who, (client, status)), bad in itertools.product(callers.items(), BAD_REQUESTS):
        response = await client.request(route.method, url, **BAD_REQUESTS[bad])
        assert response.status_code == status, f"{who}, {bad}: {response.text}"
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["instance"] == url


@pytest.mark.parametrize("route", [r for r in WRITE_ROUTES if "{" in r.path], ids=lambda r: f"{r.method} {r.path}")
async def test_existence_is_checked_before_the_body(route, make_client, session):
    """An admin naming a record that does not exist hears 404, whatever its body says; a link
    naming records, altered, is refused (403) whatever its body says."""
    world = await build_world(session)
    url, _ = route.request(world)
    if route.declared.capability is not None:  # the link names the records: altered, it is refused
        tampered = url.replace(world.invitation_token, world.invitation_token[:-2] + "xx")
        admin = await make_client("admin")
        response = await admin.request(route.method, tampered, json={"no_such_field": 1})
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("text/html")
        return
    parts = url.split("/")
    last_id = max(i for i, part in enumerate(parts) if _is_uuid(part))
    parts[last_id] = str(uuid.uuid4())
    admin = await make_client("admin")
    response = await admin.request(route.method, "/".join(parts), json={"no_such_field": 1})
    assert response.status_code == 404, response.text
    assert response.json()["type"].endswith("-not-found")


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def test_every_write_route_declares_who_may_make_it():
    """``@Access(...)`` beside the route: the gate, the document and these tests read it."""
    undeclared = [f"{route.method} {route.path}" for route in WRITE_ROUTES if route.access is None]
    assert not undeclared, f"put @Access(...) under the route decorator of: {undeclared}"


@pytest.mark.parametrize("route", [r for r in WRITE_ROUTES if "{" in r.path], ids=lambda r: f"{r.method} {r.path}")
def test_every_record_a_write_names_is_checked_before_the_body(route):
    """Each id in the path is checked to exist (or to be visible to the caller) by the gate."""
    hidden = route.declared.hidden
    for name in re.findall(r"{(\w+)}", route.path):
        capability = route.declared.capability
        assert (
            name in RECORDS
            or (hidden is not None and name == hidden.parameter)
            or (capability is not None and name == capability.parameter)
        ), f"{route.method} {route.path}: add {name} to RECORDS in api/path_records.py, or declare it hidden"


@pytest.mark.parametrize("route", [r for r in WRITE_ROUTES if r.method == "PATCH"], ids=lambda r: r.path)
async def test_validation_comes_before_preconditions(route, make_client, session):
    """Without If-Match, an invalid body is a 422; a valid one is a 428."""
    world = await build_world(session)
    url, body = route.request(world)
    admin = await make_client("admin")
    invalid = await admin.patch(url, json={"no_such_field": 1})
    assert invalid.status_code == 422, invalid.text
    assert (await admin.patch(url, json=body)).json()["type"] == "/problems/if-match-required"
