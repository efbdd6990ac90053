"""Fast JSON responses built from database rows, with ETag and Link headers."""

from typing import Any

import orjson
from fastapi import Request, Response

from services.pagination import Page

PROBLEM_JSON = "application/problem+json"


def json_response(data: Any, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(data, default=str), status_code=status_code, headers=headers, media_type="application/json"
    )


def etag_for(version: int) -> str:
    return f'"{version}"'


def record_response(row: dict[str, Any], *, status_code: int = 200, location: str | None = None) -> Response:
    """A record's representation; its version becomes the ETag and leaves the body."""
    body = dict(row)
    headers = {"ETag": etag_for(body.pop("version"))}
    if location is not None:
        headers["Location"] = location
    return json_response(body, status_code=status_code, headers=headers)


def page_response(request: Request, page: Page) -> Response:
    """``{"items": [...], "next_cursor": ...}`` and, when there is more, ``Link: rel="next"``."""
    items = [{k: v for k, v in item.items() if k != "version"} for item in page.items]
    headers = {"Vary": "Accept"}  # the same URL exports as CSV or NDJSON (api.export)
    if page.next_cursor is not None:
        next_url = request.url.include_query_params(cursor=page.next_cursor)
        headers["Link"] = f'<{next_url}>; rel="next"'
    return json_response({"items": items, "next_cursor": page.next_cursor}, headers=headers)
