"""The first checks of every write, in the registry's one order: authentication (401), then
the caller's right to act (403, or 404 for a record it may not see), before anything in the
request is parsed. A reader sending a malformed body, a stale ETag or none learns only that
it may not write; validation (422), preconditions (428/412) and rules (409) come after.

Which roles may possibly make a write is declared here, once; whether a focal point may act
on a particular record stays with the service (it needs the record and sometimes the body).
"""

import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import auth_connector, authenticate_request, read_connection
from api.errors import problem_response
from api.route_table import find_route
from services.api_keys import repository as api_keys
from services.calendars import repository as calendars
from services.clock import clock
from services.entities.models import Entity
from services.errors import DomainError, Forbidden, NotFound
from services.meetings.models import Meeting
from services.memberships.models import Membership
from services.mous.models import Mou
from services.networks.models import Network
from services.principals import Principal, Role
from services.reviews.models import Recommendation, Review
from services.webhooks import repository as webhooks
from services.webhooks.models import WebhookDelivery
from services.working_groups import repository as working_groups
from services.working_groups.models import WorkingGroup, WorkingGroupPost

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FOCAL_POINT = frozenset({Role.FOCAL_POINT})

# Writes that a role other than admin may make (on its own records). Every other write is the
# secretariat's alone.
MAY_WRITE: dict[tuple[str, str], frozenset[Role]] = {
    ("PATCH", "/v1/entities/{entity_id}"): FOCAL_POINT,
    ("PATCH", "/v1/memberships/{membership_id}"): FOCAL_POINT,
    ("POST", "/v1/working-groups/{group_id}/members"): FOCAL_POINT,
    ("POST", "/v1/working-groups/{group_id}/members/{post_id}/end"): FOCAL_POINT,
    ("POST", "/v1/mous/{mou_id}/sign"): FOCAL_POINT,
    ("POST", "/v1/reviews/{review_id}/start"): FOCAL_POINT,
    ("POST", "/v1/reviews/{review_id}/complete"): FOCAL_POINT,
    ("POST", "/v1/reviews/{review_id}/recommendations"): FOCAL_POINT,
    ("PATCH", "/v1/reviews/{review_id}/recommendations/{recommendation_id}"): FOCAL_POINT,
    ("POST", "/v1/reviews/{review_id}/recommendations/{recommendation_id}/status"): FOCAL_POINT,
    ("POST", "/v1/webhook-endpoints"): frozenset({Role.INTEGRATOR}),
    # Every caller may subscribe to calendars (secret feed URLs: docs/API.md, "Calendars").
    ("POST", "/v1/calendar-subscriptions"): frozenset({Role.FOCAL_POINT, Role.INTEGRATOR, Role.READER}),
}

Visible = Callable[[AsyncConnection, uuid.UUID, Principal], Awaitable[dict[str, Any] | None]]


# Records a caller may not even see: acting on another's is 404, as reading it is.
HIDDEN: dict[str, tuple[str, Visible, str, str]] = {
    "/v1/webhook-endpoints/{endpoint_id}": (
        "endpoint_id",
        webhooks.get_visible_endpoint_row,
        "webhook-endpoint-not-found",
        "No webhook endpoint has id {id}.",
    ),
    "/v1/api-keys/{key_id}": ("key_id", api_keys.get_visible_key_row, "api-key-not-found", "No API key has id {id}."),
    "/v1/calendar-subscriptions/{subscription_id}": (
        "subscription_id",
        calendars.get_subscription_row,
        "calendar-subscription-not-found",
        "No calendar subscription has id {id}.",
    ),
}

# The records a write's path names, checked to exist (404) before its body is validated.
RECORDS: dict[str, tuple[Any, str, str]] = {
    "entity_id": (Entity, "entity-not-found", "entity"),
    "network_id": (Network, "network-not-found", "network"),
    "membership_id": (Membership, "membership-not-found", "membership"),
    "group_id": (WorkingGroup, "working-group-not-found", "working group"),
    "post_id": (WorkingGroupPost, "post-not-found", "post"),
    "mou_id": (Mou, "mou-not-found", "MoU"),
    "meeting_id": (Meeting, "meeting-not-found", "meeting"),
    "delivery_id": (WebhookDelivery, "delivery-not-found", "delivery"),
    "review_id": (Review, "review-not-found", "review"),
    "recommendation_id": (Recommendation, "recommendation-not-found", "recommendation"),
}

Owners = Callable[[AsyncConnection, dict[str, uuid.UUID]], Awaitable[set[Any]]]


def _owners(*columns: Any, where: str) -> Owners:
    """The entities whose focal points may act on the record the path parameter ``where`` names."""

    async def owners(conn: AsyncConnection, ids: dict[str, uuid.UUID]) -> set[Any]:
        row = (await conn.execute(select(*columns).where(columns[0].table.c.id == ids[where]))).first()
        return set(row) if row is not None else set()

    return owners


async def _the_entity(conn: AsyncConnection, ids: dict[str, uuid.UUID]) -> set[Any]:
    return {ids["entity_id"]}


async def _recommendation_owner_or_lead(conn: AsyncConnection, ids: dict[str, uuid.UUID]) -> set[Any]:
    query = select(Recommendation.owner_entity_id, Review.lead_entity_id).join(
        Review, Review.id == Recommendation.review_id
    )
    row = (await conn.execute(query.where(Recommendation.id == ids["recommendation_id"]))).first()
    return set(row) if row is not None else set()


_REVIEW_LEAD = _owners(Review.lead_entity_id, where="review_id")


# For a focal point, the record named in the path decides (403 before the body is read): an
# entity's, a membership's, a review's lead, a group's chairs. Writes whose right depends on
# the body (a signature for a party) are decided by the service, after validation.
async def _group_chairs(conn: AsyncConnection, ids: dict[str, uuid.UUID]) -> set[Any]:
    """Seats are given by a focal point of one of the group's current chairs."""
    return await working_groups.chair_entities_on(conn, group_id=ids["group_id"], day=clock.today())


async def _group_chairs_or_seat_holder(conn: AsyncConnection, ids: dict[str, uuid.UUID]) -> set[Any]:
    """A seat is ended by a current chair's focal point, or its holder's (an entity may leave)."""
    holder = await conn.scalar(select(WorkingGroupPost.entity_id).where(WorkingGroupPost.id == ids["post_id"]))
    return await _group_chairs(conn, ids) | {holder}


FOCAL_POINT_OWNERS: dict[tuple[str, str], Owners] = {
    ("POST", "/v1/working-groups/{group_id}/members"): _group_chairs,
    ("POST", "/v1/working-groups/{group_id}/members/{post_id}/end"): _group_chairs_or_seat_holder,
    ("PATCH", "/v1/entities/{entity_id}"): _the_entity,
    ("PATCH", "/v1/memberships/{membership_id}"): _owners(Membership.entity_id, where="membership_id"),
    ("POST", "/v1/reviews/{review_id}/start"): _REVIEW_LEAD,
    ("POST", "/v1/reviews/{review_id}/complete"): _REVIEW_LEAD,
    ("POST", "/v1/reviews/{review_id}/recommendations"): _REVIEW_LEAD,
    ("PATCH", "/v1/reviews/{review_id}/recommendations/{recommendation_id}"): _REVIEW_LEAD,
    ("POST", "/v1/reviews/{review_id}/recommendations/{recommendation_id}/status"): _recommendation_owner_or_lead,
}

_NOT_THE_CHAIR = (
    "not-the-chair",
    "You may not do this: only the secretariat or a focal point of the group's current chair gives seats "
    "(and a member's own focal point may end its seat). Ask the chair or the secretariat.",
)
OWNER_REFUSALS = {
    "/v1/working-groups/{group_id}/members": _NOT_THE_CHAIR,
    "/v1/working-groups/{group_id}/members/{post_id}/end": _NOT_THE_CHAIR,
}

WHO = {
    Role.FOCAL_POINT: "the focal point of the entity concerned",
    Role.INTEGRATOR: "integrators (for their own systems)",
    Role.READER: "readers (for themselves)",
}


def who_may(roles: frozenset[Role]) -> str:
    others = [WHO[role] for role in sorted(roles) if role in WHO]
    return " or ".join(["the secretariat (admin role)", *others])


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
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        application: FastAPI = scope["app"]
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
                instance=scope["path"],
                **refusal.extra,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

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
        source = application.dependency_overrides.get(read_connection, read_connection)
        hidden = next((h for prefix, h in HIDDEN.items() if route.path.startswith(prefix)), None)
        if hidden is None:
            roles = MAY_WRITE.get((scope["method"], route.path), frozenset())
            if not principal.is_admin and principal.role not in roles:
                raise Forbidden(
                    "role-may-not-write",
                    f"Your role ({principal.role}) may not {scope['method']} {route.path}; only {who_may(roles)} may.",
                    allowed_roles=["admin", *sorted(roles)],
                )
        if params:
            async with asynccontextmanager(source)() as conn:
                if hidden is not None:
                    await _require_visible(conn, principal, params, *hidden)
                await _require_existing(conn, params)
                owners = FOCAL_POINT_OWNERS.get((scope["method"], route.path))
                if owners is not None and principal.role == Role.FOCAL_POINT:
                    await _require_owner(conn, principal, params, owners, OWNER_REFUSALS.get(route.path))
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
    conn: AsyncConnection,
    principal: Principal,
    params: dict[str, str],
    name: str,
    visible: Visible,
    kind: str,
    detail: str,
) -> None:
    record_id = _ids(params, name)
    if record_id is not None and await visible(conn, record_id, principal) is None:
        raise NotFound(kind, detail.format(id=record_id))


async def _require_owner(
    conn: AsyncConnection,
    principal: Principal,
    params: dict[str, str],
    owners: Owners,
    refusal: tuple[str, str] | None,
) -> None:
    ids = {name: _ids(params, name) for name in params}
    if any(value is None for value in ids.values()):
        return  # the route's validation answers (422)
    if principal.entity_id not in await owners(conn, {k: v for k, v in ids.items() if v is not None}):
        raise Forbidden(
            *(
                refusal
                or (
                    "not-your-entity",
                    "You may not do this: only the secretariat (admin role) or the focal point of the entity "
                    "that owns the record may.",
                )
            )
        )


async def _require_existing(conn: AsyncConnection, params: dict[str, str]) -> None:
    for name in params:
        record_id = _ids(params, name)
        if name not in RECORDS or record_id is None:
            continue
        model, kind, label = RECORDS[name]
        if not await conn.scalar(select(exists().where(model.id == record_id))):
            raise NotFound(kind, f"No {label} has id {record_id}.")
