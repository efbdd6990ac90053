"""Reads without FastAPI's per-request dependency solving.

Solving a read's dependencies (the caller, the page, the connection; an exit stack and a
cancel scope for the connection) cost FastAPI more CPU than the read's SQL. For the common
GET routes, whose dependencies are all known here, ``PlannedRoute`` works out once, when the
route is built, how to call the endpoint; each request then only parses its path id and page
and calls the endpoint with the same values FastAPI would pass.

The plan covers only the plain case. A request it would have to interpret differently from
FastAPI (a malformed id or page, a query parameter, a repeated one, an overridden caller or
page) goes to FastAPI's own handler, which validates and answers as
always: the plan never changes what a client receives, only how fast.

Creations (``POST`` routes whose dependencies are the caller, the unit of work and a JSON
body, with optional headers such as ``Idempotency-Key``) are planned the same way: the body
is parsed and validated by FastAPI's own functions (``Request.json`` and
``request_body_to_args``, which FastAPI's handler calls), the endpoint runs inside
``write_session``'s unit of work as it would under FastAPI. A body FastAPI would refuse (not
JSON, another content type, invalid), or a request that sends one of the optional headers
(an ``Idempotency-Key``), goes to FastAPI's handler, which answers with the problem it always
gave (the body is kept by the request, so it reads the same bytes); the access gate, the
body's checks (``api.input``), idempotency, the audit entry and the event are where they were.
"""

import inspect
import re
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response, params
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_body_to_args
from fastapi.routing import APIRoute, iter_route_contexts

from api.deps import (
    PAGE_LIMIT,
    auth_connector,
    authenticate_request,
    bearer,
    current_principal,
    page_request,
    read_connection,
    write_session,
)
from api.input import CheckedRoute
from services.pagination import PAGE_CURSOR_PATTERN

# Read only here; a test turns planning off to compare both paths answer for answer.
enabled = True

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_CURSOR = re.compile(PAGE_CURSOR_PATTERN)
_LIMIT = re.compile(r"[1-9][0-9]{0,2}")
# Overrides the plan cannot honour (tests override the connections, which it does honour).
_UNPLANNED_OVERRIDES = (current_principal, page_request, bearer)
_read = asynccontextmanager(read_connection)
_write = asynccontextmanager(write_session)

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class Unplanned(Exception):
    """This request is not the plain case: FastAPI's handler answers it."""


@dataclass(frozen=True)
class _Plan:
    endpoint: Callable[..., Awaitable[Response]]
    path_ids: tuple[str, ...]  # path parameters that are UUIDs
    defaults: dict[str, Any]  # query parameters left at their defaults
    request: str | None = None
    connection: str | None = None
    page: str | None = None
    principal: bool = False
    principal_names: tuple[str, ...] = ()  # parameters that receive the caller
    session: str | None = None  # a creation: the parameter that receives its unit of work
    body: tuple[Any, ...] = ()  # a creation: its body's fields (FastAPI's ModelFields)
    embed_body: bool = False
    optional_headers: tuple[str, ...] = ()  # a creation's optional headers: sent, FastAPI answers

    async def arguments(self, request: Request) -> dict[str, Any]:
        arguments = dict(self.defaults)
        path_params = request.path_params
        for name in self.path_ids:
            value = path_params[name]
            if _UUID.fullmatch(value) is None:
                raise Unplanned()
            arguments[name] = uuid.UUID(value)
        if self.request is not None:
            arguments[self.request] = request
        if self.principal:  # first, as FastAPI solves it: a caller it refuses gets 401 whatever else
            connect = request.app.dependency_overrides.get(auth_connector, auth_connector)
            principal = await authenticate_request(request, await connect())
            for name in self.principal_names:
                arguments[name] = principal
        if self.page is not None:
            arguments[self.page] = await self._page(request)
        if self.body:
            arguments.update(await self._body(request))
        return arguments

    async def _body(self, request: Request) -> dict[str, Any]:
        """The body's values as FastAPI would pass them, for a JSON body FastAPI would accept."""
        headers = request.headers
        if any(name in headers for name in self.optional_headers):
            raise Unplanned()
        if headers.get("content-type") != "application/json" or not await request.body():
            raise Unplanned()
        try:
            received = await request.json()
        except ValueError:  # not JSON (or not UTF-8): FastAPI's problem
            raise Unplanned() from None
        values, errors = await request_body_to_args(list(self.body), received, self.embed_body)
        if errors:
            raise Unplanned()
        return values

    async def _page(self, request: Request) -> Any:
        limit = cursor = None
        for name, value in request.query_params.multi_items():
            if name == "limit" and limit is None and _LIMIT.fullmatch(value) and int(value) <= PAGE_LIMIT:
                limit = int(value)
            elif name == "cursor" and cursor is None and _CURSOR.fullmatch(value):
                cursor = value
            else:
                raise Unplanned()
        return await page_request(limit=limit, cursor=cursor)

    async def __call__(self, request: Request) -> Response:
        overrides = request.app.dependency_overrides
        if overrides and any(dependency in overrides for dependency in _UNPLANNED_OVERRIDES):
            raise Unplanned()
        if request.scope["query_string"] and self.page is None:
            raise Unplanned()
        arguments = await self.arguments(request)
        if self.session is not None:
            begin = asynccontextmanager(overrides[write_session]) if write_session in overrides else _write
            async with begin() as session:
                arguments[self.session] = session
                return await self.endpoint(**arguments)
        if self.connection is None:
            return await self.endpoint(**arguments)
        connect = asynccontextmanager(overrides[read_connection]) if read_connection in overrides else _read
        async with connect() as conn:
            arguments[self.connection] = conn
            return await self.endpoint(**arguments)


def plan_for(route: APIRoute) -> _Plan | None:
    """How to call ``route``'s endpoint without solving its dependencies, or None when one
    of them is not a kind planned here."""
    dependant = route.dependant
    endpoint = route.endpoint
    returns = inspect.signature(endpoint).return_annotation
    creation = route.methods == {"POST"}
    optional_headers = []
    for header in dependant.header_params:
        if not creation or header.field_info.is_required():
            return None
        optional_headers.append(header.alias.lower())
    if (
        (route.methods != {"GET"} and not creation)
        or not inspect.iscoroutinefunction(endpoint)
        or not (inspect.isclass(returns) and issubclass(returns, Response))
        or dependant.cookie_params
        or not _plannable_body(route, creation)
        or any(
            getattr(dependant, name)
            for name in (
                "websocket_param_name",
                "http_connection_param_name",
                "response_param_name",
                "background_tasks_param_name",
                "security_scopes_param_name",
            )
        )
    ):
        return None
    path_ids = []
    for field in dependant.path_params:
        if field.field_info.annotation is not uuid.UUID or field.field_info.metadata:
            return None
        path_ids.append(field.name)
    defaults = {}
    for field in dependant.query_params:
        if field.field_info.is_required():
            return None
        defaults[field.name] = field.field_info.get_default(call_default_factory=True)
    plan: dict[str, Any] = {}
    principals: list[str | None] = []
    for sub in dependant.dependencies:
        kind = _dependency_kind(sub)
        if kind == "principal":  # solved once per request however often declared
            principals.append(sub.name)
        elif kind is None or sub.name is None or kind in plan:
            return None
        else:
            plan[kind] = sub.name
    if creation and (set(plan) != {"session"} or not principals):
        return None  # a creation is planned with its unit of work and its caller, nothing else
    # How the body is read: one model as the whole body, or its fields embedded in it (more
    # than one body parameter, or one declared with Body(embed=True)), FastAPI's documented
    # rule for a JSON body; tests/test_planned_routes.py checks each planned creation answers
    # as FastAPI's own handler does.
    names = {field.name for field in dependant.body_params}
    embed_body = len(names) > 1 or any(getattr(field.field_info, "embed", None) for field in dependant.body_params[:1])
    return _Plan(
        endpoint=endpoint,
        path_ids=tuple(path_ids),
        defaults=defaults,
        request=dependant.request_param_name,
        connection=plan.get("connection"),
        page=plan.get("page"),
        principal=bool(principals),
        principal_names=tuple(name for name in principals if name is not None),
        session=plan.get("session"),
        body=tuple(dependant.body_params),
        embed_body=bool(embed_body),
        optional_headers=tuple(optional_headers),
    )


def _plannable_body(route: APIRoute, creation: bool) -> bool:
    """No body for a read; one JSON body (no form, no file) for a creation."""
    if not creation:
        return not route.dependant.body_params
    return route.body_field is not None and not isinstance(route.body_field.field_info, params.Form)


def _dependency_kind(sub: Dependant) -> str | None:
    if sub.call is current_principal:
        return "principal"
    if sub.call is read_connection and sub.scope == "function":
        return "connection"
    if sub.call is write_session and sub.scope == "function":
        return "session"
    if sub.call is page_request:
        return "page"
    return None


class PlannedRoute(CheckedRoute):
    """An APIRoute whose plain GET requests and creations skip dependency solving (see the
    module); the checks of ``api.input`` still come first."""

    def unchecked_handler(self) -> Handler:
        solved = super().unchecked_handler()
        plan = plan_for(self)
        if plan is None:
            return solved

        async def handler(request: Request) -> Response:
            if enabled:
                try:
                    return await plan(request)
                except Unplanned:
                    pass
            return await solved(request)

        handler.plan = plan  # type: ignore[attr-defined]  # for tests: which routes are planned
        return handler


def refuse_skipped_dependencies(app: FastAPI) -> None:
    """Raise ``RuntimeError`` if a planned route is reached with dependencies it does not
    declare itself (the app's, or ``include_router(..., dependencies=...)``): its plan, made
    from the route's own dependencies, would skip them. The app factory calls it once, after
    including every router; declare such dependencies on the ``APIRouter`` instead."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, PlannedRoute) or plan_for(route) is None:
            continue
        effective = getattr(context, "dependant", None)
        if not isinstance(effective, Dependant):
            raise RuntimeError(
                "fastapi.routing.RouteContext no longer gives an included route's dependant: "
                "api.planned cannot tell whether a plan would skip a dependency (read iter_route_contexts)"
            )
        if [d.call for d in effective.dependencies] != [d.call for d in route.dependant.dependencies]:
            raise RuntimeError(
                f"the planned route {' '.join(sorted(route.methods or ()))} {context.path} is included with dependencies its plan would skip: "
                "declare them on its APIRouter, not on include_router() or the app"
            )
