"""The first checks of every write, in the registry's one order: authentication (401), then
the caller's right to act (403, or 404 for a record it may not see), before anything in the
request is parsed. A reader sending a malformed body, a stale ETag or none learns only that
it may not write; validation (422), preconditions (428/412) and rules (409) come after.

Who may make each write is declared beside its route (``api.permissions.Access``); the gate
reads the declarations from the route table, built once per application. Whether a focal
point may act on a particular record the body names stays with the service.
"""

import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import auth_connector, authenticate_request, read_connection
from api.errors import problem_response, request_language
from api.path_records import RECORDS
from api.permissions import SECRETARIAT_ONLY, Capability, HiddenRecord, PathOwners, who_may
from api.route_table import find_route
from services.errors import DomainError, Forbidden, NotFound
from services.principals import Principal, Role

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _has_body(headers: dict[bytes, bytes]) -> bool:
    length = headers.get(b"content-length")
    if length is not None:
        return length.strip() not in (b"", b"0")
    return b"transfer-encoding" in headers


class AccessGate:
    """ASGI middleware: the ordered first checks of every write route, then 415 for a body
    that is not JSON. Reads need no gate: their dependencies already run authentication first."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        application: FastAPI = scope["app"]
        if not scope["path"].startswith("/v1/"):
            # Outside the API only a capability route writes (a link's page): its link is checked here.
            found = find_route(application, scope["method"], scope["path"])
            capability = found[0].access.capability if found and found[0].access else None
            if capability is not None:
                assert found is not None
                try:
                    await self._open(application, capability, found[1])
                except DomainError as refusal:
                    await capability.refusal(refusal)(scope, receive, send)
                    return
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            await self._check(application, request, scope)
        except DomainError as refusal:
            response = problem_response(
                refusal.status,
                refusal.kind,
                refusal.detail,
                title=refusal.title,
                headers=refusal.headers,
                language=request_language(request.headers),
                instance=scope["path"],
                **refusal.extra,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _open(self, application: FastAPI, capability: Capability, params: dict[str, str]) -> None:
        """A capability route's first check, in place of authentication and the right to act:
        its link (403 altered, 410 expired or withdrawn), before anything else is read."""
        source = application.dependency_overrides.get(read_connection, read_connection)
        async with asynccontextmanager(source)() as conn:
            await capability.open(conn, params[capability.parameter])

    async def _check(self, application: FastAPI, request: Request, scope: Scope) -> None:
        connect = await application.dependency_overrides.get(auth_connector, auth_connector)()
        principal = await authenticate_request(request, connect)
        if scope["path"].endswith(".ics"):  # calendar feeds are read-only; no write route may take them
            raise MethodNotAllowed(
                "method-not-allowed",
                f"{scope['method']} is not allowed on a calendar feed; allowed: GET.",
                headers={"Allow": "GET"},
            )
        found = find_route(application, scope["method"], scope["path"])
        if found is None:
            return  # 404 or 405, answered by the router
        route, params = found
        access = route.access or SECRETARIAT_ONLY  # a write declaring nobody is the secretariat's
        if not principal.is_admin and principal.role not in access.roles:
            raise Forbidden(
                "role-may-not-write",
                f"Your role ({principal.role}) may not {scope['method']} {route.path}; only {who_may(access.roles)} may.",
                allowed_roles=["admin", *sorted(access.roles)],
            )
        if params:
            source = application.dependency_overrides.get(read_connection, read_connection)
            async with asynccontextmanager(source)() as conn:
                if access.hidden is not None:
                    await _require_visible(conn, principal, params, access.hidden)
                await _require_existing(conn, params)
                if isinstance(access.owners, PathOwners) and principal.role == Role.FOCAL_POINT:
                    await _require_owner(conn, principal, params, access.owners)
        headers = dict(scope["headers"])
        if route.takes_body and _has_body(headers):
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            if not _is_json(content_type):
                raise UnsupportedMediaType(
                    "unsupported-media-type",
                    f"Send the body as application/json (Content-Type was {content_type or 'missing'}).",
                    headers={"Accept-Post": "application/json", "Accept-Patch": "application/json"},
                )


class MethodNotAllowed(DomainError):
    status = 405
    title = "Method Not Allowed"


class UnsupportedMediaType(DomainError):
    status = 415
    title = "Unsupported media type"


def _ids(params: dict[str, str], name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(params[name])
    except (KeyError, ValueError):
        return None  # not an id at all: the route's validation says so (422)


async def _require_visible(
    conn: AsyncConnection, principal: Principal, params: dict[str, str], hidden: HiddenRecord
) -> None:
    record_id = _ids(params, hidden.parameter)
    if record_id is not None and await hidden.visible(conn, record_id, principal) is None:
        raise NotFound(hidden.kind, hidden.detail.format(id=record_id))


async def _require_owner(
    conn: AsyncConnection, principal: Principal, params: dict[str, str], owners: PathOwners
) -> None:
    ids = {name: _ids(params, name) for name in params}
    if any(value is None for value in ids.values()):
        return  # the route's validation answers (422)
    if principal.entity_id not in await owners.lookup(conn, {k: v for k, v in ids.items() if v is not None}):
        raise Forbidden(*owners.refusal)


async def _require_existing(conn: AsyncConnection, params: dict[str, str]) -> None:
    for name in params:
        record_id = _ids(params, name)
        if name not in RECORDS or record_id is None:
            continue
        model, kind, label = RECORDS[name]
        if not await conn.scalar(select(exists().where(model.id == record_id))):
            raise NotFound(kind, f"No {label} has id {record_id}.")
