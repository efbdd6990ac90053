"""Planned reads (api.planned) answer exactly as FastAPI's own handler does, request for
request, and plain reads do take the plan (no dependency solving)."""

import uuid
from collections.abc import Iterator
from typing import Any

import fastapi
import fastapi.responses
import fastapi.routing
import pytest
from fastapi.routing import APIRoute
from httpx import AsyncClient

import api.planned
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


async def test_plain_reads_skip_dependency_solving(
    app: Any, client: AsyncClient, session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    solved: list[str] = []
    solve = fastapi.routing.solve_dependencies

    async def counted(*args: Any, **kwargs: Any) -> Any:
        solved.append(kwargs["request"].url.path)
        return await solve(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counted)
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
