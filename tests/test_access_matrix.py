"""Every write route x every role x own or another's record: the status its access
declaration implies, and that a refused request changed nothing in the database. Then the
same refusals with the gate's role and owner checks lifted: the service refuses them too, so
a declaration and the service's own checks cannot disagree unnoticed."""

import dataclasses

import pytest
from sqlalchemy import text

from api.permissions import EVERYONE, Access
from api.route_table import route_table
from services.models import Base  # every model imported: the metadata holds every table
from tests.write_routes import CALLERS, SUCCESS, WRITE_ROUTES, body_of, build_world

# Every table the models declare, read whole, so a table added later is watched without being
# named here; where a column moves on reads, or rows are ordered by more than their text, the
# query says what is compared instead.
SNAPSHOT_QUERIES = {
    "events": "SELECT position, type, subject_id FROM events",
    # last_used_at moves on reads; everything else about a key is state
    "api_keys": "SELECT id, name, role, entity_id, expires_at, revoked_at, revoked_by, version FROM api_keys",
}
SNAPSHOT_TABLES = {
    table: SNAPSHOT_QUERIES.get(table, f"SELECT * FROM {table}") for table in sorted(Base.metadata.tables)
}


async def snapshot(connection) -> dict[str, str]:
    result = {}
    for table, query in SNAPSHOT_TABLES.items():
        result[table] = await connection.scalar(
            text(f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM ({query}) t")
        )
    return result


def expected_status(route, caller: str) -> tuple[int, ...]:
    refused = route.refusal(caller)
    return SUCCESS[route.method] if refused is None else (refused,)


async def client_for(make_client, route, world, caller: str):
    role, whose = CALLERS[caller]
    entity = route.entity(world, whose)
    return await make_client(role, entity_id=entity["id"] if entity else None)


async def request_headers(make_client, route, url: str) -> dict[str, str]:
    if route.method != "PATCH":
        return {}
    admin = await make_client("admin")
    return {"If-Match": (await admin.get(url)).headers["etag"]}


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("route", WRITE_ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_write_route_for_caller(route, caller, make_client, session, connection):
    world = await build_world(session)
    client = await client_for(make_client, route, world, caller)
    url, body = route.request(world)
    headers = await request_headers(make_client, route, url)
    before = await snapshot(connection)

    response = await client.request(route.method, url, **body_of(body, headers))

    assert response.status_code in expected_status(route, caller), response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert await snapshot(connection) == before, "a refused request must change nothing"
        if response.status_code == 403 and CALLERS[caller][0] not in route.declared.roles:
            assert response.json()["type"] == "/problems/role-may-not-write"  # the gate's, from the declaration
    else:
        assert await snapshot(connection) != before


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_the_service_refuses_whom_the_declaration_refuses(route, app, make_client, session, connection):
    """With the gate letting every caller past its role, visibility and owner checks, each
    caller the route's declaration refuses is refused by the service, with the same status."""
    world = await build_world(session)
    refused = [caller for caller in CALLERS if CALLERS[caller][0] not in (None, "admin") and route.refusal(caller)]
    lifted = Access(roles=EVERYONE)
    app.state.route_table = [dataclasses.replace(entry, access=lifted) for entry in route_table(app)]
    for caller in refused:
        client = await client_for(make_client, route, world, caller)
        url, body = route.request(world)
        headers = await request_headers(make_client, route, url)
        before = await snapshot(connection)

        response = await client.request(route.method, url, **body_of(body, headers))

        assert response.status_code == route.refusal(caller), f"{caller}: {response.text}"
        assert response.json()["type"] != "/problems/role-may-not-write", "the gate answered, not the service"
        assert await snapshot(connection) == before, "a refused request must change nothing"


async def test_a_caller_who_may_not_write_gets_403_even_with_a_stale_etag(make_client, session):
    world = await build_world(session)
    other = await make_client("focal_point", entity_id=world.b["id"])
    response = await other.patch(
        f"/v1/entities/{world.a['id']}", json={"website": "https://x.example"}, headers={"If-Match": '"999"'}
    )
    assert response.status_code == 403  # never 412: a stale ETag must not be what tells it no
    own = await make_client("focal_point", entity_id=world.a["id"])
    response = await own.patch(
        f"/v1/entities/{world.a['id']}", json={"website": "https://x.example"}, headers={"If-Match": '"999"'}
    )
    assert response.status_code == 412


async def test_fields_a_focal_point_may_not_set_are_422_and_change_nothing(make_client, session, connection):
    world = await build_world(session)
    own = await make_client("focal_point", entity_id=world.a["id"])
    url = f"/v1/memberships/{world.membership_a['id']}"
    etag = (await own.get(url)).headers["etag"]
    before = await snapshot(connection)
    response = await own.patch(url, json={"start_date": "2018-01-01", "notes": "x"}, headers={"If-Match": etag})
    assert response.status_code == 422
    assert response.json()["fields"] == ["start_date"]
    assert await snapshot(connection) == before
