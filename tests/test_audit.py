"""The audit trail: every write route records who, what, before/after, request id, time —
in the change's own transaction — and the table refuses to be rewritten."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.factories import make_entity, make_membership, make_network
from tests.write_routes import SUCCESS, WRITE_ROUTES, body_of, build_world, valid_requests

WRITE_METHODS = {"post", "put", "patch", "delete"}


async def test_every_write_route_in_the_openapi_document_has_a_valid_request(client, session):
    spec = (await client.get("/openapi.json")).json()
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in WRITE_METHODS
    }
    assert documented == {(r.method, r.path) for r in WRITE_ROUTES}
    listed = set(valid_requests(await build_world(session), 0))
    assert documented == listed, f"write routes without a valid request in tests/write_routes.py: {documented - listed}"


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_every_write_route_leaves_an_audit_entry(route, client, session, connection):
    world = await build_world(session)
    url, body = route.request(world)
    headers = {"X-Request-ID": f"req-{route.method}-{len(route.path)}"}
    if route.method == "PATCH":
        headers["If-Match"] = (await client.get(url)).headers["etag"]
    count = text("SELECT count(*) FROM audit_log WHERE request_id = :rid")
    assert await connection.scalar(count, {"rid": headers["X-Request-ID"]}) == 0
    response = await client.request(route.method, url, **body_of(body, headers))
    assert response.status_code in SUCCESS[route.method], response.text
    assert response.headers["x-request-id"] == headers["X-Request-ID"]
    entries = (
        await connection.execute(
            text(
                "SELECT principal_id, principal_role, action, resource_type, after, before FROM audit_log WHERE request_id = :rid"
            ),
            {"rid": headers["X-Request-ID"]},
        )
    ).all()
    assert entries, f"{route.method} {route.path} wrote no audit entry"
    is_json = response.headers.get("content-type", "").startswith("application/json")
    secret = response.json().get("key") if is_json else None
    for entry in entries:
        if route.declared.capability is not None:
            # A link acts as its holder, whatever key came with it: the person it was sent to.
            assert (entry.principal_role, entry.principal_id) == ("invitee", f"person:{world.person['id']}")
        else:
            assert entry.principal_role == "admin" and entry.principal_id.startswith("key:")
        assert entry.after is not None or entry.before is not None
        assert "key_hash" not in str(entry.after)
        if secret:
            assert secret not in str(entry.after)


async def test_an_update_records_before_and_after_of_the_changed_fields_only(client, session, connection):
    entity = await make_entity(session, acronym="AUD", website="https://old.example")
    etag = (await client.get(f"/v1/entities/{entity['id']}")).headers["etag"]
    await client.patch(
        f"/v1/entities/{entity['id']}", json={"website": "https://new.example"}, headers={"If-Match": etag}
    )
    row = (
        await connection.execute(
            text("SELECT before, after FROM audit_log WHERE resource_id = :id AND action = 'entity.updated'"),
            {"id": entity["id"]},
        )
    ).one()
    assert row.before == {"website": "https://old.example"}
    assert row.after == {"website": "https://new.example"}


async def test_a_refused_write_leaves_no_audit_entry(client, session, connection):
    network = await make_network(session)
    coordinator_membership = (await client.get(f"/v1/networks/{network['id']}/memberships")).json()["items"][0]
    before = await connection.scalar(text("SELECT count(*) FROM audit_log"))
    response = await client.post(f"/v1/memberships/{coordinator_membership['id']}/end", json={"end_date": "2030-01-01"})
    assert response.status_code == 409
    assert await connection.scalar(text("SELECT count(*) FROM audit_log")) == before


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET principal_id = 'someone else'", "DELETE FROM audit_log", "TRUNCATE audit_log"],
)
async def test_the_database_refuses_to_rewrite_the_audit_log(statement, session, connection):
    await make_entity(session, acronym="KEEP")
    with pytest.raises(DBAPIError) as refused:
        async with connection.begin_nested():
            await connection.execute(text(statement))
    assert "append-only" in str(refused.value)


async def test_reading_the_audit_log_by_role(make_client, session):
    network = await make_network(session)
    a = await make_entity(session, acronym="AUD-A")
    b = await make_entity(session, acronym="AUD-B")
    await make_membership(session, network_id=network["id"], entity_id=a["id"])
    await make_membership(session, network_id=network["id"], entity_id=b["id"])
    admin = await make_client("admin")
    everything = (await admin.get("/v1/audit-log", params={"limit": 200})).json()["items"]
    assert {e["owner_entity_id"] for e in everything} >= {str(a["id"]), str(b["id"])}
    focal_a = await make_client("focal_point", entity_id=a["id"])
    own = (await focal_a.get("/v1/audit-log", params={"limit": 200})).json()["items"]
    assert own and {e["owner_entity_id"] for e in own} == {str(a["id"])}
    for role in ("reader", "integrator"):
        response = await (await make_client(role)).get("/v1/audit-log")
        assert response.status_code == 403
    only_memberships = (await admin.get("/v1/audit-log", params={"resource_type": "membership"})).json()["items"]
    assert only_memberships and {e["resource_type"] for e in only_memberships} == {"membership"}
    by_system = (await admin.get("/v1/audit-log", params={"principal_id": "system"})).json()["items"]
    assert by_system and {e["principal_id"] for e in by_system} == {"system"}
    future = (await admin.get("/v1/audit-log", params={"since": "2999-01-01T00:00:00Z"})).json()["items"]
    assert future == []
