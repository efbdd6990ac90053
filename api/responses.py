"""Fast JSON responses built from database rows, with ETag and Link headers."""

from typing import Any

import orjson
from fastapi import Request, Response

from services.locales import DEFAULT_LANGUAGE, negotiate, translated
from services.pagination import Page

PROBLEM_JSON = "application/problem+json"


def json_response(data: Any, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(data, default=str), status_code=status_code, headers=headers, media_type="application/json"
    )


def etag_for(version: int, language: str = DEFAULT_LANGUAGE) -> str:
    """``"3"``; a representation in another language is another representation: ``"3-fr"``
    (If-Match takes either, api.deps)."""
    return f'"{version}"' if language == DEFAULT_LANGUAGE else f'"{version}-{language}"'


def _in_language(row: dict[str, Any], language: str, fields: tuple[str, ...], used: set[str]) -> dict[str, Any]:
    """``row`` with each of ``fields`` in ``language`` where its ``translations`` hold it, else
    the English original; the languages the fields ended up in are added to ``used``."""
    localized = dict(row)
    for name in fields:
        value, in_language = translated(row.get(name), row.get("translations"), name, language)
        if value is not None:
            localized[name] = value
            used.add(in_language)
    return localized


def _content_language(language: str, used: set[str]) -> str:
    """The languages an answer holds, the one asked for first (``fr, en`` when some fields had
    no French)."""
    return ", ".join(code for code in dict.fromkeys((language, DEFAULT_LANGUAGE)) if code in used) or DEFAULT_LANGUAGE


def localized_record_response(request: Request, row: dict[str, Any], fields: tuple[str, ...]) -> Response:
    """A record whose ``fields`` may carry translations, in the language ``Accept-Language``
    prefers, field by field falling back to English; ``translations`` as stored."""
    language = negotiate(request.headers.get("accept-language"))
    used: set[str] = set()
    body = _in_language(row, language, fields, used)
    headers = {
        "ETag": etag_for(body.pop("version"), language),
        "Content-Language": _content_language(language, used),
        "Vary": "Accept-Language",
    }
    return json_response(body, headers=headers)


def record_response(row: dict[str, Any], *, status_code: int = 200, location: str | None = None) -> Response:
    """A record's representation; its version becomes the ETag and leaves the body."""
    body = dict(row)
    headers = {"ETag": etag_for(body.pop("version"))}
    if location is not None:
        headers["Location"] = location
    return json_response(body, status_code=status_code, headers=headers)


def page_response(request: Request, page: Page, *, translated: tuple[str, ...] = ()) -> Response:
    """``{"items": [...], "next_cursor": ...}`` and, when there is more, ``Link: rel="next"``.
    With ``translated`` fields, the items are in the language ``Accept-Language`` prefers
    (``localized_record_response``)."""
    items = [{k: v for k, v in item.items() if k != "version"} for item in page.items]
    headers = {"Vary": "Accept"}  # the same URL exports as CSV or NDJSON (api.export)
    if translated:
        language = negotiate(request.headers.get("accept-language"))
        used: set[str] = set()
        items = [_in_language(item, language, translated, used) for item in items]
        headers["Vary"] = "Accept, Accept-Language"
        headers["Content-Language"] = _content_language(language, used)
    if page.next_cursor is not None:
        next_url = request.url.include_query_params(cursor=page.next_cursor)
        headers["Link"] = f'<{next_url}>; rel="next"'
    return json_response({"items": items, "next_cursor": page.next_cursor}, headers=headers)
