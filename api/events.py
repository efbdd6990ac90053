import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.deps import Authenticated, CurrentPrincipal, DbRead
from api.openapi import problems
from api.responses import json_response
from services.events.repository import START, FeedFilters, decode_position, read_feed

router = APIRouter(prefix="/v1/events", tags=["events"], dependencies=[Authenticated], responses=problems(401, 429))


@router.get(
    "",
    responses={
        200: {
            "description": "Events after the cursor, in log order. A full page links to the next one "
            '(`Link: rel="next"`); a shorter page means you have caught up, and has no such link. '
            "Either way, keep `next_cursor` and poll again from it later.",
            "content": {"application/json": {}},
        },
        **problems(422),
    },
)
async def change_feed(
    request: Request,
    conn: DbRead,
    principal: CurrentPrincipal,
    after: Annotated[
        str | None, Query(description="Cursor from the previous page; omit to start at the beginning.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    type: Annotated[list[str] | None, Query(max_length=20, description="Event types, exact or `meeting.*`.")] = None,
    subject_type: Annotated[str | None, Query(max_length=50)] = None,
    subject_id: uuid.UUID | None = None,
    network_id: uuid.UUID | None = None,
) -> Response:
    """The change feed, for systems that prefer to pull: every change to the registry, in order."""
    page = await read_feed(
        conn,
        after=decode_position(after) if after else START,
        limit=limit,
        filters=FeedFilters(tuple(type or ()), subject_type, subject_id, network_id),
        actor=principal,
    )
    headers = {}
    if not page.caught_up:
        headers["Link"] = f'<{request.url.include_query_params(after=page.next_cursor)}>; rel="next"'
    return json_response({"items": page.items, "next_cursor": page.next_cursor}, headers=headers)
