import uuid
from typing import Annotated

from fastapi import Query, Request, Response

from api.deps import Authenticated, CurrentPrincipal, DbRead
from api.dispatch import PathRouter
from api.documents import FeedPage
from api.export import exportable, exporter
from api.openapi import problems
from api.planned import PlannedRoute
from api.responses import json_response
from services.events.catalogue import check_patterns
from services.events.repository import (
    START,
    FeedCursor,
    FeedFilters,
    decode_position,
    feed_export_query,
    read_feed,
    shape_for,
)
from services.export import ExportSource
from services.schemas import EventPattern, RecordType

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/events",
    tags=["events"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)


@router.get(
    "",
    responses={
        **exportable(
            {
                200: {
                    "description": "Events after the cursor, in log order. A full page links to the next one "
                    '(`Link: rel="next"`); a shorter page means you have caught up, and has no such link. '
                    "Either way, keep `next_cursor` and poll again from it later.",
                    "model": FeedPage,
                    "content": {"application/json": {}},
                }
            }
        ),
        **problems(422),
    },
)
async def change_feed(
    request: Request,
    conn: DbRead,
    principal: CurrentPrincipal,
    after: Annotated[
        FeedCursor | None,
        Query(
            max_length=100,  # two 64-bit numbers, encoded: at most 60 characters
            description="Cursor from the previous page; omit to start at the beginning.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    type: Annotated[
        list[EventPattern] | None,
        Query(
            max_length=20,
            description="Event types, exact (`meeting.created`) or a family (`meeting.*`), as GET /v1/event-types "
            "lists them; one that matches no type is a 422 `unknown-event-type` naming the nearest.",
        ),
    ] = None,
    subject_type: Annotated[RecordType | None, Query(max_length=50)] = None,
    subject_id: uuid.UUID | None = None,
    network_id: uuid.UUID | None = None,
) -> Response:
    """The change feed, for systems that prefer to pull: every change to the registry, in order.
    An export (CSV, NDJSON) is every event the feed would serve from ``after``, up to now."""
    check_patterns(type or (), location="query.type")  # a typo would read an empty feed forever
    filters = FeedFilters(tuple(type or ()), subject_type, subject_id, network_id)
    if (export := exporter(request)) is not None:
        query = feed_export_query(after=decode_position(after) if after else START, filters=filters, actor=principal)
        return export.response("events", ExportSource(query, shape_for(principal)))
    page = await read_feed(
        conn,
        after=decode_position(after) if after else START,
        limit=limit,
        filters=filters,
        actor=principal,
    )
    headers = {"Vary": "Accept"}  # the same URL exports as CSV or NDJSON (api.export)
    if not page.caught_up:
        headers["Link"] = f'<{request.url.include_query_params(after=page.next_cursor)}>; rel="next"'
    return json_response({"items": page.items, "next_cursor": page.next_cursor}, headers=headers)
