"""Rows as CSV text that a spreadsheet opens safely and reads correctly: the coverage table
and every section of the activity report are written by ``csv_text``, and the list exports
(``services.export``) use the same cells, header and byte-order mark.

A CSV file the registry writes starts with a UTF-8 byte-order mark, without which Excel
reads the file in the machine's legacy code page and garbles every name outside Latin
script; its header names the columns for people ("Entity acronym"), or by the API's field
names (``entity_acronym``) when a program asks for them (``CsvHeader.FIELDS``)."""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any

BYTE_ORDER_MARK = "\ufeff"


class CsvHeader(StrEnum):
    """How a CSV file names its columns."""

    LABELS = "labels"  # for people: "Entity acronym"
    FIELDS = "fields"  # the API's field names: entity_acronym


# Words of a field name that a label spells otherwise (abbreviations); any other word is
# written as it is, the label's first letter capitalised.
_LABEL_WORDS = {
    "id": "ID",
    "ids": "IDs",
    "un": "UN",
    "mou": "MoU",
    "mous": "MoUs",
    "gcm": "GCM",
    "sdg": "SDG",
    "url": "URL",
    "uri": "URI",
    "sha256": "SHA-256",
}


def column_label(name: str) -> str:
    """A column's header for people: ``entity_acronym`` is "Entity acronym", ``un_system``
    "UN system", ``membership.core`` "Membership core"."""
    words = [_LABEL_WORDS.get(word, word) for word in name.replace(".", "_").split("_") if word]
    label = " ".join(words)
    return label[:1].upper() + label[1:]


def header_line(columns: Sequence[str], header: CsvHeader) -> list[str]:
    """The header cells of ``columns`` in the style asked for."""
    return [column_label(c) for c in columns] if header == CsvHeader.LABELS else list(columns)


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


def csv_text(columns: Sequence[str], rows: Iterable[Iterable[Any]], *, header: CsvHeader = CsvHeader.LABELS) -> str:
    """A CSV file's text: the byte-order mark, a header of ``columns``, then one line per
    row, CRLF-terminated (RFC 4180). Encode it as UTF-8."""
    buffer = io.StringIO()
    buffer.write(BYTE_ORDER_MARK)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header_line(columns, header))
    for row in rows:
        writer.writerow(cell(value) for value in row)
    return buffer.getvalue()
