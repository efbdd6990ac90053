"""Planned reads (api.planned) answer exactly as FastAPI's own handler does, request for
request, and plain reads do take the plan (no dependency solving)."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import fastapi
import fastapi.responses
import fastapi.routing
import pytest
from fastapi.routing import APIRoute
from httpx import AsyncClient
from sqlalchemy import text

import api.planned
from tests.factories import make_entity, make_network
from tests.read_world import read_url, read_world
from tests.webhook_receiver import Receiver

# Every planned route is read with each of these after its path: the plain case, and each
# kind of query the plan leaves to FastAPI (malformed, repeated, unknown, out of range).
QUERIES = (
    "",
    "?limit=1",
    "?limit=50",
    "?limit=200",
    "?limit=0",
    "?limit=201",
    "?limit=05",
    "?limit=%2B5",
    "?limit=5&limit=6",
    "?cursor=not-a-cursor",
    "?cursor=azE6AAAAAAAAAAAAAAAAAAAAAA",
    "?limit=2&unknown=1",
    "?kind=un_system",
)
# Headers that differ between any two requests whatever handled them.
PER_REQUEST = {"date", "x-request-id"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def planned_paths(app: Any) -> list[str]:
    found = []

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if (original := getattr(route, "original_router", None)) is not None:
                walk(original.routes)
            elif isinstance(route, APIRoute) and hasattr(route.get_route_handler(), "plan"):
                found.append(route.path)

    walk(app.router.routes)
    return sorted(found)


def _urls(path: str, ids: dict[str, Any]) -> list[str]:
    plain = read_url(path, ids)
    urls = [plain + query for query in QUERIES]
    if "{" in path:  # an id that names nothing, one in capitals, and one that is not an id
        first = path.split("{", 1)[1].split("}", 1)[0]
        for other in (str(uuid.uuid4()), str(ids.get(first, uuid.uuid4())).upper(), "not-an-id"):
            urls.append(read_url(path, {**ids, first: other}))
            urls.append(read_url(path, {**ids, first: other}).replace(other, other + "x"))
    return urls


async def _answer(client: AsyncClient, url: str, *, planned: bool) -> tuple[int, dict[str, str], bytes]:
    api.planned.enabled = planned
    try:
        response = await client.get(url)
    finally:
        api.planned.enabled = True
    headers = {k: v for k, v in response.headers.items() if k not in PER_REQUEST}
    return response.status_code, headers, response.content


async def _both(caller: AsyncClient, url: str) -> tuple[Any, Any]:
    """The planned and the solved answer to ``url``. The change feed's horizon errs early for
    a moment when a transaction elsewhere ends between its snapshot and its look at
    pg_stat_activity (it never skips, see services.events.models): two answers a moment apart
    may then differ in how far they reach, so a feed URL is asked again, up to three times."""
    for _ in range(3 if url.startswith("/v1/events") else 1):
        planned = await _answer(caller, url, planned=True)
        solved = await _answer(caller, url, planned=False)
        if planned == solved:
            break
    return planned, solved


async def test_planned_reads_answer_as_fastapi_does(
    app: Any, client: AsyncClient, make_client: Any, session: Any, receiver: Receiver
) -> None:
    ids = await read_world(client, session, receiver)
    paths = planned_paths(app)
    assert "/v1/entities/{entity_id}" in paths and "/v1/entities" in paths and len(paths) > 30, paths
    callers = {"admin": client, "reader": await make_client("reader"), "nobody": await make_client(None)}
    compared = 0
    statuses: set[int] = set()
    for path in paths:
        for name, caller in callers.items():
            for url in _urls(path, ids) if name != "nobody" else [read_url(path, ids)]:
                planned, solved = await _both(caller, url)
                assert planned == solved, f"{name} GET {url}"
                statuses.add(planned[0])
                compared += 1
    assert {200, 401, 404, 422} <= statuses, statuses
    print(f"\n{len(paths)} planned routes, {compared} requests answered alike; statuses {sorted(statuses)}")


@pytest.fixture
def solved(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the requests FastAPI solved the dependencies of, in order."""
    paths: list[str] = []
    solve = fastapi.routing.solve_dependencies

    async def counted(*args: Any, **kwargs: Any) -> Any:
        paths.append(kwargs["request"].url.path)
        return await solve(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counted)
    return paths


async def test_plain_reads_skip_dependency_solving(
    app: Any, client: AsyncClient, session: Any, solved: list[str]
) -> None:
    entity = (
        await client.post("/v1/entities", json={"acronym": "PLAN", "name": "Planned", "kind": "un_system"})
    ).json()
    solved.clear()
    for url in (f"/v1/entities/{entity['id']}", "/v1/entities?limit=5", "/v1/networks"):
        assert (await client.get(url)).status_code == 200
    assert solved == [], "a plain read was solved by FastAPI"
    for url in ("/v1/entities?kind=un_system", "/v1/entities/not-an-id"):
        await client.get(url)
    assert solved == ["/v1/entities", "/v1/entities/not-an-id"], "the plan left these to FastAPI"


def _planned_router() -> fastapi.APIRouter:
    router = fastapi.APIRouter(route_class=api.planned.PlannedRoute)

    @router.get("/things/{thing_id}")
    async def read_thing(thing_id: uuid.UUID) -> fastapi.responses.Response:
        return fastapi.responses.Response(str(thing_id))

    return router


def _refused() -> None:
    raise fastapi.HTTPException(403)


def _apps_that_add_a_dependency() -> Iterator[fastapi.FastAPI]:
    app = fastapi.FastAPI()
    app.include_router(_planned_router(), dependencies=[fastapi.Depends(_refused)])
    yield app
    outer = fastapi.APIRouter()
    outer.include_router(_planned_router(), prefix="/v1", dependencies=[fastapi.Depends(_refused)])
    app = fastapi.FastAPI()
    app.include_router(outer)
    yield app
    app = fastapi.FastAPI(dependencies=[fastapi.Depends(_refused)])
    app.include_router(_planned_router())
    yield app


def test_a_planned_route_given_dependencies_by_its_include_is_refused() -> None:
    """A plan is made from the route's own dependencies; one the include or the app adds (an
    access check, say) would be skipped, so the app refuses to start. If this fails, FastAPI
    changed what fastapi.routing.iter_route_contexts gives for an included route: read
    api.planned.refuse_skipped_dependencies and the RouteContext class of fastapi/routing.py."""
    for app in _apps_that_add_a_dependency():
        with pytest.raises(RuntimeError, match="included with dependencies its plan would skip"):
            api.planned.refuse_skipped_dependencies(app)


def test_a_planned_route_included_as_declared_is_accepted() -> None:
    app = fastapi.FastAPI()
    app.include_router(_planned_router(), prefix="/v1")
    api.planned.refuse_skipped_dependencies(app)


def _comparable(answer: tuple[int, dict[str, str], bytes]) -> tuple[int, dict[str, str], Any]:
    """An answer to a creation without what differs from one creation to the next (its id,
    its times, and the Location and ETag that name them)."""
    status, headers, content = answer
    kept = {k: v for k, v in headers.items() if k not in {"location", "content-length"}}
    try:
        body = json.loads(content)
    except ValueError:
        return status, kept, content
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in {"id", "created_at", "updated_at", "instance"}}
    return status, kept, body


async def _post(caller: AsyncClient, url: str, content: bytes, headers: dict[str, str], *, planned: bool) -> Any:
    api.planned.enabled = planned
    try:
        response = await caller.post(url, content=content, headers=headers)
    finally:
        api.planned.enabled = True
    kept = {k: v for k, v in response.headers.items() if k not in PER_REQUEST}
    return _comparable((response.status_code, kept, response.content))


async def test_planned_creations_answer_as_fastapi_does(
    app: Any, client: AsyncClient, make_client: Any, session: Any
) -> None:
    """Each creation asked twice, planned and by FastAPI, answers alike: created, in conflict,
    refused by the access gate, or left to FastAPI (not JSON, not UTF-8, another content type,
    invalid, a query, an Idempotency-Key and its replay)."""
    network = await make_network(session)
    entities = [(await make_entity(session, acronym=f"PW{i}"))["id"] for i in range(2)]
    as_json = {"Content-Type": "application/json"}
    bad_bodies = [
        b"{not json",
        b'{"acronym": "PX", "name": "x"}',
        b'{"acronym": "PX", "name": "x", "kind": "no-such-kind"}',
        b'{"acronym": "PX", "name": "x", "kind": "un_system", "unknown": 1}',
        b"[]",
        b"",
        b'"\xff"',
        b'{"acronym": "PX", "name": "x", "kind": "un_system", "kind": 5}',
    ]
    compared = 0
    statuses: set[int] = set()
    reader = await make_client("reader")
    for url, headers, caller in (
        ("/v1/entities", as_json, client),
        ("/v1/entities", {"Content-Type": "text/plain"}, client),
        ("/v1/entities", {"Content-Type": "application/json; charset=utf-8"}, client),
        ("/v1/entities?x=1", as_json, client),
        ("/v1/entities", as_json, reader),
        ("/v1/memberships", as_json, client),
    ):
        for content in bad_bodies:
            planned = await _post(caller, url, content, headers, planned=True)
            solved = await _post(caller, url, content, headers, planned=False)
            assert planned == solved, f"POST {url} {headers} {content!r}"
            statuses.add(planned[0])
            compared += 1
    # Created: the same answer but for the new record's id, times, Location and own fields.
    answers = []
    for planned, entity_id in ((True, entities[0]), (False, entities[1])):
        entity_body = {"acronym": f"PY{'P' if planned else 'S'}", "name": "Planned", "kind": "un_system"}
        entity = await _post(client, "/v1/entities", json.dumps(entity_body).encode(), as_json, planned=planned)
        assert entity[0] == 201, entity
        entity[2].pop("acronym")
        membership_body = {
            "network_id": str(network["id"]),
            "entity_id": str(entity_id),
            "tier": "extended",
            "start_date": "2026-01-01",
        }
        membership = await _post(
            client, "/v1/memberships", json.dumps(membership_body).encode(), as_json, planned=planned
        )
        assert membership[0] == 201, membership
        membership[2].pop("entity")
        answers.append((entity, membership))
        statuses.update({entity[0], membership[0]})
        compared += 2
    assert answers[0] == answers[1]
    # The same membership again: a conflict, planned and solved alike.
    again = json.dumps(
        {
            "network_id": str(network["id"]),
            "entity_id": str(entities[0]),
            "tier": "extended",
            "start_date": "2026-01-01",
        }
    ).encode()
    planned_conflict = await _post(client, "/v1/memberships", again, as_json, planned=True)
    solved_conflict = await _post(client, "/v1/memberships", again, as_json, planned=False)
    assert planned_conflict == solved_conflict, planned_conflict
    statuses.add(planned_conflict[0])
    # An Idempotency-Key goes to FastAPI, and its replay answers as the first answer did.
    keyed = {**as_json, "Idempotency-Key": "planned-1"}
    body = json.dumps({"acronym": "PZK", "name": "Keyed", "kind": "un_system"}).encode()
    first = await client.post("/v1/entities", content=body, headers=keyed)
    replay = await client.post("/v1/entities", content=body, headers=keyed)
    assert first.status_code == 201 and replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true" and replay.headers["etag"] == first.headers["etag"]
    assert {201, 403, 409, 422} <= statuses, statuses
    print(f"\n{compared} creations answered alike; statuses {sorted(statuses)}")


async def test_plain_creations_skip_dependency_solving(
    app: Any, client: AsyncClient, session: Any, solved: list[str]
) -> None:
    created = await client.post("/v1/entities", json={"acronym": "PLW", "name": "Planned write", "kind": "un_system"})
    assert created.status_code == 201 and created.headers["etag"] == '"1"', created.text
    assert created.headers["location"] == f"/v1/entities/{created.json()['id']}"
    assert solved == [], "a plain creation was solved by FastAPI"
    # Its event and audit entry, as stored (the change feed holds back the test's open transaction).
    record = {"id": uuid.UUID(created.json()["id"])}
    events = (await session.execute(text("SELECT type FROM events WHERE subject_id = :id"), record)).scalars()
    audit = (await session.execute(text("SELECT action FROM audit_log WHERE resource_id = :id"), record)).scalars()
    assert list(events) == ["entity.created"] and list(audit) == ["entity.created"]
    solved.clear()
    await client.post("/v1/entities", json={"acronym": "PLW2", "name": "x"})  # invalid: FastAPI answers
    await client.post(
        "/v1/entities", json={"acronym": "PLW3", "name": "x", "kind": "un_system"}, headers={"Idempotency-Key": "k"}
    )
    assert solved == ["/v1/entities", "/v1/entities"], "the plan left these to FastAPI"
