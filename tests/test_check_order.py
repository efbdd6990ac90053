"""One order of checks on every write route: authentication (401), the caller's right to act
(403, or 404 for a record it may not see), existence (404), validation (422), preconditions
(428/412), rules (409). A caller who may not write learns nothing else: not that its body is
malformed, nor its media type wrong, nor its ETag stale or missing."""

import itertools
import uuid

import pytest

from api.access import FOCAL_POINT_OWNERS, HIDDEN, MAY_WRITE
from services.principals import Role
from tests.write_routes import WRITE_ROUTES, build_world

# Requests that are wrong in every way a write can be wrong, after the caller's right to act.
BAD_REQUESTS = {
    "invalid body": {"json": {"no_such_field": 1}},
    "malformed json": {"content": b'{"no_such_field": ', "headers": {"content-type": "application/json"}},
    "not json": {"content": b"a=1", "headers": {"content-type": "application/x-www-form-urlencoded"}},
    "stale etag": {"json": {}, "headers": {"If-Match": '"999999"'}},
    "no etag": {"json": {}},
}


def refused(route) -> int:
    return 404 if route.hidden_from_others else 403


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_a_caller_without_the_right_to_act_learns_only_that(route, make_client, session):
    world = await build_world(session)
    url, _ = route.request(world)
    callers = {"anonymous": (await make_client(None), 401)}
    if not route.anyone_may or route.hidden_from_others:
        callers["reader"] = (await make_client("reader"), refused(route))
    if not route.focal_point_may:
        callers["focal point"] = (await make_client("focal_point", entity_id=world.a["id"]), refused(route))
    elif route.hidden_from_others:
        callers["another's focal point"] = (await make_client("focal_point", entity_id=world.b["id"]), 404)
    elif (route.method, route.path) in FOCAL_POINT_OWNERS:
        other = world.e if route.owner == "b" else world.b
        callers["another's focal point"] = (await make_client("focal_point", entity_id=other["id"]), 403)
    for (who, (client, status)), bad in itertools.product(callers.items(), BAD_REQUESTS):
        response = await client.request(route.method, url, **BAD_REQUESTS[bad])
        assert response.status_code == status, f"{who}, {bad}: {response.text}"
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["instance"] == url


@pytest.mark.parametrize("route", [r for r in WRITE_ROUTES if "{" in r.path], ids=lambda r: f"{r.method} {r.path}")
async def test_existence_is_checked_before_the_body(route, make_client, session):
    """An admin naming a record that does not exist hears 404, whatever its body says."""
    world = await build_world(session)
    url, _ = route.request(world)
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


def test_the_gate_knows_every_write_route_a_non_admin_may_make():
    """The gate's table and the access matrix's agree: who may write what."""
    for route in WRITE_ROUTES:
        hidden = any(route.path.startswith(prefix) for prefix in HIDDEN)
        assert hidden == route.hidden_from_others, route.path
        if hidden:
            continue
        roles = MAY_WRITE.get((route.method, route.path), frozenset())
        assert (Role.READER in roles) == route.anyone_may, route.path  # every caller, on its own records
        assert (Role.FOCAL_POINT in roles) == route.focal_point_may, route.path
        assert (Role.INTEGRATOR in roles) == (route.integrator_may or route.anyone_may), route.path


@pytest.mark.parametrize("route", [r for r in WRITE_ROUTES if r.method == "PATCH"], ids=lambda r: r.path)
async def test_validation_comes_before_preconditions(route, make_client, session):
    """Without If-Match, an invalid body is a 422; a valid one is a 428."""
    world = await build_world(session)
    url, body = route.request(world)
    admin = await make_client("admin")
    invalid = await admin.patch(url, json={"no_such_field": 1})
    assert invalid.status_code == 422, invalid.text
    assert (await admin.patch(url, json=body)).json()["type"] == "/problems/if-match-required"
