"""Rows as CSV text that a spreadsheet opens safely: the coverage table and every section
of the activity report are written by ``csv_text``."""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

# A spreadsheet runs a cell that starts with one of these as a formula; record text (names,
# titles, descriptions) comes from users, so such a cell is kept as text with a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def plain(value: Any) -> str:
    """A value as a person reads it in a table: blank for none, yes/no, ISO 8601 dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet would run ``text`` as a formula."""
    return text.startswith(_FORMULA_START)


def cell(value: Any) -> str:
    """``plain``, and safe to open in a spreadsheet."""
    text = plain(value)
    return "'" + text if isinstance(value, str) and looks_like_formula(text) else text


def csv_text(columns: Sequence[str], rows: Iterable[Iterable[Any]]) -> str:
    """A header of ``columns``, then one line per row, CRLF-terminated (RFC 4180)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(cell(value) for value in row)
    return buffer.getvalue()
