"""The application's routes as a flat table (FastAPI nests included routers), for the checks
that run before routing: the access gate, and the Allow header of a 405; and for the
OpenAPI document, which lists each write's refusals from its access declaration."""

import re
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from api.permissions import Access, declared_access


@dataclass(frozen=True)
class RouteEntry:
    path: str  # the template, as in the OpenAPI document
    methods: frozenset[str]
    pattern: re.Pattern[str]
    takes_body: bool
    access: Access | None  # declared beside the route (``@Access``); None when it declares none


def route_table(app: FastAPI) -> list[RouteEntry]:
    """Built once per application, on first use."""
    table: list[RouteEntry] | None = getattr(app.state, "route_table", None)
    if table is None:
        table = []
        for context in iter_route_contexts(app.routes):
            route = context.route
            pattern = getattr(route, "path_regex", None)
            if pattern is None:
                continue
            table.append(
                RouteEntry(
                    path=getattr(route, "path", ""),
                    methods=frozenset(getattr(route, "methods", None) or ()),
                    pattern=pattern,
                    takes_body=isinstance(route, APIRoute) and route.body_field is not None,
                    access=declared_access(getattr(route, "endpoint", None)),
                )
            )
        app.state.route_table = table
    return table


UNMATCHED = "unmatched"  # no route serves the path: one label, whatever the path was


def route_template(scope: Any) -> str:
    """The route a request went to, as its template (``/v1/calendars/{token}.ics``): what a
    log line or a metric names, never the path itself, whose segments can be credentials
    (a calendar subscription's token) or anything a client typed."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is not None:
        return str(path)
    # Not routed: refused before routing (the access gate's 401/403/404), or no route at all.
    found = find_route(scope["app"], scope["method"], scope["path"]) if "app" in scope else None
    return found[0].path if found is not None else UNMATCHED


def find_route(app: FastAPI, method: str, path: str) -> tuple[RouteEntry, dict[str, str]] | None:
    for entry in route_table(app):
        match = entry.pattern.match(path)
        if match and method in entry.methods:
            return entry, match.groupdict()
    return None


def _ids_are_ids(params: dict[str, str]) -> bool:
    """Every ``..._id`` of the path is a UUID: otherwise no record route serves it (``x.ics``)."""
    try:
        for name, value in params.items():
            if name.endswith("_id"):
                uuid.UUID(value)
    except ValueError:
        return False
    return True


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods some route serves at ``path``."""
    methods: set[str] = set()
    for entry in route_table(app):
        match = entry.pattern.match(path)
        if match and _ids_are_ids(match.groupdict()):
            methods |= entry.methods
    return sorted(methods)
