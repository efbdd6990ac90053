"""A whole collection as CSV or NDJSON, streamed from a server-side cursor.

An export is a list query without its page: every row matching the list's filters and the
reader's visibility, in the list's order. Rows come from the database in batches through a
cursor, are shaped exactly as the JSON list shapes them, and leave as encoded chunks, so
the memory an export needs does not grow with the collection.

Columns are the JSON field names. NDJSON carries each row as the list's JSON item. CSV is a
file as the reports write theirs (``services.tables``): a UTF-8 byte-order mark, a header
for people or of the field names, and the reports' cells (ISO dates, yes/no, formula
guard); a nested value (an object or a list, e.g. a membership's ``entity``) is one cell
holding its compact JSON text.
"""

import csv
import io
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.tables import BYTE_ORDER_MARK, CsvHeader, cell, header_line

CSV_MEDIA_TYPE = "text/csv"
NDJSON_MEDIA_TYPE = "application/x-ndjson"

# Rows fetched per round trip, and rows encoded per chunk sent.
BATCH_ROWS = 500

# Columns a list query selects for its own use and never shows (the ETag's version, the
# change feed's ordering key).
_HIDDEN = frozenset({"version", "transaction_id"})

Row = dict[str, Any]
Connector = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


def _unchanged(row: Row) -> Row:
    return row


@dataclass(frozen=True)
class ExportSource:
    """What to export: a list's query (filters, visibility and order applied, no limit) and
    the function that shapes each row as the list's JSON shows it.

    ``columns``: the JSON field names in order; by default the query's own columns."""

    query: Select[Any]
    shape: Callable[[Row], Row] = _unchanged
    columns: tuple[str, ...] = field(default=())

    def column_names(self) -> tuple[str, ...]:
        if self.columns:
            return self.columns
        return tuple(str(c.key) for c in self.query.selected_columns if c.key not in _HIDDEN)


async def stream_rows(connect: Connector, source: ExportSource) -> AsyncIterator[list[Row]]:
    """The rows of ``source``, shaped, in batches of up to ``BATCH_ROWS``: one read-only
    transaction (one snapshot) and a server-side cursor, so no more than a batch is held."""
    async with connect() as conn:
        result = await conn.stream(source.query.execution_options(yield_per=BATCH_ROWS))
        async for partition in result.mappings().partitions(BATCH_ROWS):
            yield [source.shape({k: v for k, v in row.items() if k not in _HIDDEN}) for row in partition]


def _flat(value: Any) -> Any:
    """A nested value as its compact JSON text; anything else as it is (``cell`` formats it)."""
    if isinstance(value, dict | list):
        return orjson.dumps(value, default=str).decode()
    return value


def csv_chunk(columns: Sequence[str], rows: Sequence[Row] | None, header: CsvHeader = CsvHeader.LABELS) -> bytes:
    """CSV lines (CRLF, RFC 4180) for ``rows``; when ``rows`` is None, the file's start: the
    byte-order mark and the header line in the ``header`` style."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if rows is None:
        buffer.write(BYTE_ORDER_MARK)
        writer.writerow(header_line(columns, header))
    else:
        writer.writerows([cell(_flat(row.get(name))) for name in columns] for row in rows)
    return buffer.getvalue().encode()


def ndjson_chunk(rows: Sequence[Row]) -> bytes:
    """One JSON object per line, each ending with a newline."""
    return b"".join(orjson.dumps(row, default=str) + b"\n" for row in rows)


async def export_chunks(
    connect: Connector, source: ExportSource, media_type: str, header: CsvHeader = CsvHeader.LABELS
) -> AsyncIterator[bytes]:
    """The encoded export: ``text/csv`` (the byte-order mark and a header line, always) or
    ``application/x-ndjson``."""
    columns = source.column_names()
    if media_type == CSV_MEDIA_TYPE:
        yield csv_chunk(columns, None, header)
    async for rows in stream_rows(connect, source):
        yield csv_chunk(columns, rows) if media_type == CSV_MEDIA_TYPE else ndjson_chunk(rows)
