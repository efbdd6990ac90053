"""Exports on the list routes: ``Accept: text/csv`` or ``application/x-ndjson`` turns a list
into the whole collection (every row the filters and the caller's visibility allow, in the
list's order), streamed. ``limit`` and ``cursor`` page the JSON list only: an export sent
either is a 422. A CSV export's header names the columns for people unless the request
asks for the field names (``?header=fields``). See services.export for the columns and cells."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from api.negotiation import CSV, JSON, negotiate
from api.openapi import DESCRIPTIONS
from services.errors import InvalidInput
from services.export import NDJSON_MEDIA_TYPE, Connector, ExportSource, export_chunks
from services.tables import CsvHeader
from services.unit_of_work import read_only_snapshot

NDJSON = NDJSON_MEDIA_TYPE
PAGE_PARAMETERS = ("limit", "cursor")
_SUFFIX = {CSV: "csv", NDJSON: "ndjson"}

HEADER_PARAMETER = "header"
# The query parameter every route that writes CSV declares (a list's through its paging).
HeaderStyle = Annotated[
    CsvHeader,
    Query(
        alias=HEADER_PARAMETER,
        description='How a CSV answer names its columns: `labels` for people ("Entity acronym", the '
        "default) or `fields`, the API's field names (`entity_acronym`). Other answers ignore it.",
    ),
]


def header_style(request: Request) -> CsvHeader:
    """The CSV header a request asks for; the route declared (and so checked) the parameter."""
    return CsvHeader(request.query_params.get(HEADER_PARAMETER, CsvHeader.LABELS))


@asynccontextmanager
async def snapshot_read() -> AsyncIterator[AsyncConnection]:
    """A connection of its own (the request's is released before the body streams), in one
    read-only repeatable-read transaction: the export is one consistent snapshot. Read-only
    transactions take no transaction id, so a long export holds back no change-feed reader."""
    async with read_only_snapshot() as conn:
        yield conn


# How an export reaches the database: ``app.state.export_connector`` when set (the tests
# point it at their transaction), else ``snapshot_read``. Read from the app's state rather
# than solved as a dependency, so that a JSON page pays for nothing but the Accept check.
CONNECTOR_STATE = "export_connector"


@dataclass(frozen=True)
class Exporter:
    """How to answer a request for an export: its media type and how it reaches the database."""

    media_type: str
    connect: Connector
    paged_by: tuple[str, ...] = ()  # the paging parameters the request sent
    header: CsvHeader = CsvHeader.LABELS

    def response(self, name: str, source: ExportSource) -> Response:
        """The export of ``source``, as ``name.csv`` or ``name.ndjson``. A route calls it once
        it has found what it exports (a 404 comes first), so a paged export is a 422 after it."""
        if self.paged_by:
            raise InvalidInput(
                "export-not-paged",
                f"An export is every matching row, not a page: leave out {' and '.join(self.paged_by)}, "
                "or ask for application/json to page through the list.",
            )
        return StreamingResponse(
            export_chunks(self.connect, source, self.media_type, self.header),
            media_type=f"{self.media_type}; charset=utf-8" if self.media_type == CSV else self.media_type,
            headers={
                "Content-Disposition": f'attachment; filename="{name}.{_SUFFIX[self.media_type]}"',
                "Vary": "Accept",
            },
        )


# Accept headers that can only mean the JSON page, answered without parsing.
_JSON_ACCEPTS = frozenset({"", "*/*", JSON, f"{JSON}, */*"})


def exporter(request: Request) -> Exporter | None:
    """The export a list request asks for, or ``None`` for the JSON page; 406 when ``Accept``
    allows none of JSON, CSV, NDJSON. Called in the route rather than solved as a
    dependency: a JSON page pays only for reading its Accept header."""
    accept = request.headers.get("accept")
    if accept is None or accept in _JSON_ACCEPTS:
        return None
    media_type = negotiate(accept, (JSON, CSV, NDJSON))
    if media_type == JSON:
        return None
    connect: Connector = getattr(request.app.state, CONNECTOR_STATE, snapshot_read)
    paged_by = tuple(name for name in PAGE_PARAMETERS if name in request.query_params)
    return Exporter(media_type, connect, paged_by, header_style(request))


def exportable(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """A list route's responses, its 200 also documented as CSV and NDJSON, and its 406."""
    ok = dict(responses.get(200, {"description": "OK"}))
    content = {JSON: {}, **ok.get("content", {})}
    content[CSV] = {
        "schema": {
            "type": "string",
            "description": "UTF-8 with a byte-order mark; a header naming the columns for people "
            "(`?header=fields`: the JSON field names), then one row per item.",
        }
    }
    content[NDJSON] = {"schema": {"type": "string", "description": "One JSON item per line."}}
    ok["content"] = content
    ok["description"] = (
        ok.get("description", "OK")
        + " With `Accept: text/csv` or `application/x-ndjson`: every matching item (not a page), streamed;"
        " nested values are JSON text in a CSV cell."
    )
    return {**responses, 200: ok, 406: {"description": DESCRIPTIONS[406]}}
