"""Calendar feeds: the meetings of a network, a working group or one meeting as iCalendar,
behind an API key, or behind a secret subscription URL for calendar apps (which cannot send
an Authorization header). Every feed answers with ETag and Last-Modified, and 304."""

import uuid
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Any

from fastapi import Path, Query, Request, Response

from api.deps import Authenticated, CurrentPrincipal, DbRead, DbSession, IdempotencyKeyHeader, Pagination
from api.dispatch import PathRouter
from api.export import exportable, exporter
from api.idempotency import idempotent
from api.limits import Limits, client_address
from api.openapi import page_of, problems
from api.path_records import CALENDAR_SUBSCRIPTION
from api.permissions import EVERYONE, Access
from api.planned import PlannedRoute
from api.responses import json_response, page_response, record_response
from services.calendars import repository, service
from services.calendars.models import FeedScope
from services.calendars.schemas import SubscriptionCreate, SubscriptionCreated, SubscriptionOut
from services.clock import clock
from services.errors import NotFound
from services.export import ExportSource
from services.meetings.calendar import calendar_for
from services.meetings.repository import MeetingFilters, all_meeting_rows
from services.schemas import OneLine
from services.settings import get_settings

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/calendar-subscriptions",
    tags=["calendars"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)
feeds = PathRouter(route_class=PlannedRoute, tags=["calendars"])


class CalendarResponse(Response):
    """Documents ``text/calendar`` as the route's media type."""

    media_type = "text/calendar"


ICS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An iCalendar (RFC 5545) document.",
        "content": {"text/calendar": {"schema": {"type": "string"}}},
    },
    304: {"description": "Not modified since the ETag or Last-Modified the client holds."},
}
_FILTERS = {
    FeedScope.NETWORK: lambda subject_id: MeetingFilters(network_id=subject_id),
    FeedScope.WORKING_GROUP: lambda subject_id: MeetingFilters(working_group_id=subject_id),
    FeedScope.MEETING: lambda subject_id: MeetingFilters(meeting_id=subject_id),
}


def _not_modified(request: Request, state: repository.FeedState) -> bool:
    """RFC 9110 §13.1: If-None-Match decides when present; else If-Modified-Since."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return any(tag.strip().removeprefix("W/") in (state.etag, "*") for tag in if_none_match.split(","))
    since = request.headers.get("if-modified-since")
    if since and state.last_modified is not None:
        try:
            return state.last_modified.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False  # an unreadable date is ignored, as the RFC says
    return False


async def calendar_response(request: Request, conn: DbRead, scope: FeedScope, subject_id: uuid.UUID) -> Response | None:
    """The feed of ``scope``/``subject_id`` (``None`` when its subject does not exist)."""
    state = await repository.feed_state(conn, scope, subject_id)
    if state is None:
        return None
    headers = {"ETag": state.etag, "Cache-Control": "private, no-cache"}
    if state.last_modified is not None:
        headers["Last-Modified"] = format_datetime(state.last_modified.astimezone(UTC), usegmt=True)
    if _not_modified(request, state):
        return Response(status_code=304, headers=headers)
    rows = await all_meeting_rows(conn, _FILTERS[scope](subject_id))
    base = get_settings().public_base_url
    body = calendar_for(rows, name=state.name, record_url=lambda row: f"{base}/v1/meetings/{row['id']}")
    headers["ETag"] = repository.feed_etag(state.name, rows)  # what was served, should a change land in between
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


@feeds.get("/v1/calendars/{token}.ics", response_class=CalendarResponse, responses={**ICS, **problems(404, 429)})
async def subscribed_calendar(
    token: Annotated[
        OneLine,
        Path(
            min_length=1,
            max_length=200,
            description="The secret token of a subscription URL.",
        ),
    ],
    request: Request,
    conn: DbRead,
) -> Response:
    """A subscription's feed, for calendar apps: the secret URL is the credential, so no
    Authorization header is needed. 404 once revoked, or once the key that made it is revoked."""
    limits: Limits = request.app.state.limits
    address = client_address(request.scope.get("client"))
    await limits.before_calendar_lookup(address)
    subscription = await repository.find_live_subscription(conn, service.hash_token(token), now=clock.now())
    if subscription is None:
        await limits.calendar_not_found(address)  # 429 instead, once over the limit
        raise NotFound("calendar-feed-not-found", "No live calendar feed has this URL; it may have been revoked.")
    await limits.admit_calendar(str(subscription["id"]), address)
    response = await calendar_response(request, conn, subscription["scope"], subscription["subject_id"])
    if response is None:
        raise NotFound("calendar-feed-not-found", "This feed's network, working group or meeting no longer exists.")
    return response


@router.post("", status_code=201, response_model=SubscriptionCreated, responses=problems(422))
@Access(roles=EVERYONE)
async def create_subscription(
    body: SubscriptionCreate,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Anyone who may read meetings may subscribe. The response holds the secret feed URL,
    this once: paste it into a calendar app's "subscribe from URL"."""

    async def act() -> Response:
        row, url = await service.create_subscription(session, data=body, actor=principal)
        return json_response(
            {k: v for k, v in row.items() if k != "version"} | {"url": url},
            status_code=201,
            headers={"Location": f"/v1/calendar-subscriptions/{row['id']}", "Cache-Control": "no-store"},
        )

    # A replay says what was created but cannot show the URL again: only its token's hash is kept.
    return await idempotent(session, request, principal, idempotency_key, act, never_store=("url",))


@router.get("", responses={**exportable(page_of(SubscriptionOut)), **problems(422)})
async def list_subscriptions(
    request: Request,
    conn: DbRead,
    page: Pagination,
    principal: CurrentPrincipal,
    include_revoked: Annotated[bool, Query(description="Also list revoked feeds.")] = False,
) -> Response:
    """Admins see every subscription; others their own and their entity's."""
    if (export := exporter(request)) is not None:
        query = repository.subscriptions_query(principal, include_revoked=include_revoked)
        return export.response("calendar-subscriptions", ExportSource(query))
    return page_response(
        request, await repository.list_subscription_rows(conn, page, principal, include_revoked=include_revoked)
    )


@router.get("/{subscription_id}", response_model=SubscriptionOut, responses=problems(404))
async def get_subscription(subscription_id: uuid.UUID, conn: DbRead, principal: CurrentPrincipal) -> Response:
    row = await repository.get_subscription_row(conn, subscription_id, principal)
    if row is None:
        raise NotFound("calendar-subscription-not-found", f"No calendar subscription has id {subscription_id}.")
    return record_response(row)


@router.post("/{subscription_id}/revoke", response_model=SubscriptionOut, responses=problems(404, 409))
@Access(roles=EVERYONE, hidden=CALENDAR_SUBSCRIPTION)
async def revoke_subscription(subscription_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal) -> Response:
    """The feed URL stops working at once."""
    return record_response(await service.revoke_subscription(session, subscription_id=subscription_id, actor=principal))
