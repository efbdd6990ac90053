"""API conventions (docs/DOMAIN.md): problem+json everywhere, pagination, ETag/If-Match, Idempotency-Key, OpenAPI."""

import asyncio

from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select

from services.entities.models import Entity
from tests.factories import make_entity


def assert_problem(response, status, kind=None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if kind is not None:
        assert body["type"] == f"/problems/{kind}"
    return body


async def test_validation_errors_are_problems_that_name_the_field(client):
    body = assert_problem(
        await client.post("/v1/entities", json={"acronym": "X", "kind": "un_system"}), 422, "validation-error"
    )
    assert "body.name" in body["detail"]
    assert body["errors"][0]["location"] == "body.name"


async def test_malformed_json_is_a_422_problem(client):
    response = await client.post("/v1/entities", content=b"{not json", headers={"content-type": "application/json"})
    assert_problem(response, 422, "validation-error")


async def test_unknown_fields_are_rejected(client):
    response = await client.post(
        "/v1/entities", json={"acronym": "X", "name": "X", "kind": "un_system", "colour": "blue"}
    )
    body = assert_problem(response, 422)
    assert "colour" in body["detail"]


async def test_read_only_fields_are_rejected_not_ignored(client):
    for field, value in (
        ("id", "01a22049-b5f1-748b-a7da-bbc500bb83c6"),
        ("created_at", "2020-01-01T00:00:00Z"),
        ("is_demo", True),
    ):
        response = await client.post(
            "/v1/entities", json={"acronym": "X", "name": "X", "kind": "un_system", field: value}
        )
        body = assert_problem(response, 422)
        assert f"'{field}' is read-only" in body["detail"]
    assert (await client.get("/v1/entities", params={"acronym": "X"})).json()["items"] == []


async def test_unknown_routes_and_methods_are_problems(client):
    assert_problem(await client.get("/v1/nothing-here"), 404, "not-found")
    assert_problem(await client.put("/v1/entities"), 405, "method-not-allowed")
    assert_problem(await client.get("/v1/entities/not-a-uuid"), 422)
    assert_problem(await client.get("/v1/entities/01a22049-b5f1-748b-a7da-bbc500bb83c6"), 404, "entity-not-found")


async def test_an_unexpected_error_is_a_500_problem_without_internals(client):
    app = client.app

    @app.get("/v1/boom")
    async def boom():
        raise RuntimeError("secret internals: SELECT password FROM users")

    async with AsyncClient(transport=ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t") as raw:
        response = await raw.get("/v1/boom")
    body = assert_problem(response, 500, "internal-error")
    assert "secret" not in response.text and "SELECT" not in response.text
    assert "Traceback" not in body["detail"]


async def test_cursor_pagination_walks_every_record_once_in_a_stable_order(client, session):
    created = [await make_entity(session, acronym=f"PAGE{i}") for i in range(7)]
    seen: list[str] = []
    url = "/v1/entities?limit=3"
    pages = 0
    while url:
        response = await client.get(url)
        assert response.status_code == 200
        seen += [e["acronym"] for e in response.json()["items"]]
        pages += 1
        link = response.headers.get("link")
        if link is None:
            assert response.json()["next_cursor"] is None
            break
        assert link.endswith('>; rel="next"')
        url = link[1 : link.index(">")]
    assert seen == [e["acronym"] for e in created]
    assert pages == 3


async def test_page_size_is_capped_and_cursors_are_checked(client):
    assert_problem(await client.get("/v1/entities", params={"limit": 201}), 422, "validation-error")
    assert_problem(await client.get("/v1/entities", params={"limit": 0}), 422)
    assert_problem(await client.get("/v1/entities", params={"cursor": "garbage"}), 422, "validation-error")


async def test_updates_need_a_current_if_match(client, session):
    entity = await make_entity(session, acronym="ETAG")
    url = f"/v1/entities/{entity['id']}"
    assert_problem(await client.patch(url, json={"name": "New"}), 428, "if-match-required")
    etag = (await client.get(url)).headers["etag"]
    assert (await client.patch(url, json={"name": "First"}, headers={"If-Match": etag})).status_code == 200
    stale = await client.patch(url, json={"name": "Second"}, headers={"If-Match": etag})
    assert_problem(stale, 412, "stale-etag")
    # A weak or malformed ETag is not one this service issues: a 422 naming the header.
    assert_problem(await client.patch(url, json={"name": "Weak"}, headers={"If-Match": f"W/{etag}"}), 422)
    assert (await client.get(url)).json()["name"] == "First"
    assert (await client.patch(url, json={"name": "Any"}, headers={"If-Match": "*"})).status_code == 200


async def test_required_fields_cannot_be_cleared(client, session):
    entity = await make_entity(session)
    url = f"/v1/entities/{entity['id']}"
    etag = (await client.get(url)).headers["etag"]
    assert_problem(await client.patch(url, json={"name": None}, headers={"If-Match": etag}), 422, "required-field")


async def test_idempotency_key_replays_the_stored_response(client, session):
    body = {"acronym": "IDEM", "name": "Idempotent", "kind": "un_system"}
    first = await client.post("/v1/entities", json=body, headers={"Idempotency-Key": "k-1"})
    second = await client.post("/v1/entities", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["idempotent-replayed"] == "true"
    assert await session.scalar(select(func.count()).select_from(Entity).where(Entity.acronym == "IDEM")) == 1
    reused = await client.post("/v1/entities", json={**body, "name": "Other"}, headers={"Idempotency-Key": "k-1"})
    assert_problem(reused, 422, "idempotency-key-reused")


async def test_a_failed_request_does_not_burn_its_idempotency_key(client, session):
    await make_entity(session, acronym="TAKEN")
    body = {"acronym": "TAKEN", "name": "Clash", "kind": "un_system"}
    assert (await client.post("/v1/entities", json=body, headers={"Idempotency-Key": "k-2"})).status_code == 409
    fixed = {**body, "acronym": "FREE"}
    # a different payload under the same key is allowed, since nothing was stored
    assert (await client.post("/v1/entities", json=fixed, headers={"Idempotency-Key": "k-2"})).status_code == 201


async def test_openapi_documents_every_route_and_its_problems(client):
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/v1/entities",
        "/v1/networks",
        "/v1/memberships",
        "/v1/networks/{network_id}/memberships",
        "/v1/memberships/{membership_id}/end",
        "/v1/memberships/{membership_id}/change-tier",
        "/v1/gcm/objectives",
        "/v1/gcm/principles",
    ):
        assert path in paths, path
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method in ("post", "patch", "delete"):
                documented = set(operation["responses"])
                assert "409" in documented or "422" in documented, (method, path)
            if method == "patch":
                assert {"412", "428"} <= set(operation["responses"]), path
    assert "EntityOut" in spec["components"]["schemas"]


async def test_concurrent_writers_with_the_same_etag_one_wins(client, session):
    entity = await make_entity(session, acronym="RACE")
    url = f"/v1/entities/{entity['id']}"
    etag = (await client.get(url)).headers["etag"]
    results = await asyncio.gather(
        client.patch(url, json={"name": "A"}, headers={"If-Match": etag}),
        client.patch(url, json={"name": "B"}, headers={"If-Match": etag}),
    )
    assert sorted(r.status_code for r in results) == [200, 412]
