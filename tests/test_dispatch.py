"""The module routers' shortcut (api.dispatch.PathRouter) chooses what trying every route
would: the same route for every route's own path and method, the same partial match (a 405)
for a method it lacks, the same nothing for a path no route has, with or without a trailing
slash."""

import re
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, _IncludedRouter, iter_route_contexts
from starlette.routing import Match

from api.app import create_app
from api.dispatch import PathRouter


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app()


def _scope(method: str, path: str, root_path: str = "") -> dict[str, Any]:
    """A request for ``path`` as the routes see it; under a ``root_path`` (a proxy's prefix) the
    scope's path holds the prefix too, as ASGI servers give it."""
    return {
        "type": "http",
        "method": method,
        "path": root_path + path,
        "root_path": root_path,
        "headers": [],
        "query_string": b"",
    }


def _dispatch(app: FastAPI, scope: dict[str, Any], cls: type[APIRouter]) -> tuple[Match, Any]:
    """What the application's router chooses (its loop over the included routers), each module
    router made of class ``cls``."""
    for route in app.router.routes:
        if isinstance(route, _IncludedRouter):
            route.original_router.__class__ = cls
    partial = None
    try:
        for route in app.router.routes:
            match, _ = route.matches(dict(scope))
            if match is Match.FULL:
                return match, route
            if match is Match.PARTIAL and partial is None:
                partial = route
        return (Match.PARTIAL, partial) if partial is not None else (Match.NONE, None)
    finally:
        for route in app.router.routes:
            if isinstance(route, _IncludedRouter):
                route.original_router.__class__ = PathRouter


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "0b0c0d0e-0000-4000-8000-000000000001", path)


def test_every_module_router_takes_the_shortcut(app: FastAPI) -> None:
    included = [r.original_router for r in app.router.routes if isinstance(r, _IncludedRouter)]
    assert included and all(type(r) is PathRouter and r.literals() for r in included)


@pytest.mark.parametrize("root_path", ["", "/registry"])
def test_the_shortcut_chooses_what_trying_every_route_chooses(app: FastAPI, root_path: str) -> None:
    checked = 0
    for context in iter_route_contexts(app.routes):
        route = context.route
        if not isinstance(route, APIRoute):
            continue
        path = _concrete(route.path)
        for method in [*sorted(route.methods), "PATCH", "DELETE", "PUT"]:
            for candidate in (path, path + "/", path + "/extra"):
                scope = _scope(method, candidate, root_path)
                assert _dispatch(app, scope, PathRouter) == _dispatch(app, scope, APIRouter), (method, candidate)
                checked += 1
    for path in ("/", "/nothing-here", "/v1", "/v1/", "/v1/unknown/x", "/healthz/"):
        scope = _scope("GET", path, root_path)
        assert _dispatch(app, scope, PathRouter) == _dispatch(app, scope, APIRouter), path
    assert checked > 500
