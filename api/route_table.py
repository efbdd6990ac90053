"""The application's routes as a flat table (FastAPI nests included routers), for the checks
that run before routing: the access gate, and the Allow header of a 405."""

import re
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts


@dataclass(frozen=True)
class RouteEntry:
    path: str  # the template, as in the OpenAPI document
    methods: frozenset[str]
    pattern: re.Pattern[str]
    takes_body: bool


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
                )
            )
        app.state.route_table = table
    return table


def find_route(app: FastAPI, method: str, path: str) -> tuple[RouteEntry, dict[str, str]] | None:
    for entry in route_table(app):
        match = entry.pattern.match(path)
        if match and method in entry.methods:
            return entry, match.groupdict()
    return None


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods some route serves at ``path``."""
    return sorted({m for entry in route_table(app) if entry.pattern.match(path) for m in entry.methods})
