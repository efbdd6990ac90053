"""A CSV file as rows that remember their line, checked against the columns a kind takes.

The reader takes what the registry's exports write: a leading byte-order mark or none, and a
header naming the columns either for people ("Parent ID") or by the API's field names
(``parent_id``); the columns an export carries that the registry sets itself (``id``,
``created_at``...) are read and left aside."""

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from services.tables import BYTE_ORDER_MARK, column_label


class ImportFileError(Exception):
    """The file as a whole cannot be read (no header, a column the kind does not take...)."""


@dataclass(frozen=True)
class CsvRow:
    line: int  # where the row starts in the file, 1 being the header
    values: dict[str, str]  # column -> cell, blank cells left out


def _column(heading: str, by_label: dict[str, str]) -> str:
    """The field a header cell names: the field name itself, or its label in any case."""
    return by_label.get(heading.casefold(), heading)


def read_rows(
    text: str, *, required: tuple[str, ...], optional: tuple[str, ...], ignored: tuple[str, ...] = ()
) -> list[CsvRow]:
    """The data rows of a CSV text (a header line first, after a byte-order mark or none;
    blank lines skipped). ``ignored``: columns accepted in the header whose cells are left out."""
    reader = csv.reader(io.StringIO(text.removeprefix(BYTE_ORDER_MARK), newline=""))
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise ImportFileError("the file is empty: the first line must name the columns")
    allowed = (*required, *optional)
    by_label = {column_label(name).casefold(): name for name in (*allowed, *ignored)}
    columns = [_column(h.strip(), by_label) for h in header]
    unknown = [c for c in columns if c not in allowed and c not in ignored]
    missing = [c for c in required if c not in columns]
    if unknown or missing or len(set(columns)) != len(columns):
        problems = []
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if len(set(columns)) != len(columns):
            problems.append("a column is named twice")
        raise ImportFileError(
            f"line 1: {'; '.join(problems)}. Columns: {', '.join(required)} (required), {', '.join(optional)}"
        )
    rows: list[CsvRow] = []
    next_line = reader.line_num + 1
    for cells in reader:
        line, next_line = next_line, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(columns):
            # Kept so that the flow reports it in its place among the other rows.
            rows.append(CsvRow(line, {"": f"{len(cells)} cells where the header names {len(columns)}"}))
            continue
        values = zip(columns, cells, strict=True)
        rows.append(CsvRow(line, {c: v.strip() for c, v in values if v.strip() and c not in ignored}))
    return rows


def read_file(
    path: Path, *, required: tuple[str, ...], optional: tuple[str, ...], ignored: tuple[str, ...] = ()
) -> list[CsvRow]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's byte-order mark is no column name
    except UnicodeDecodeError as error:
        raise ImportFileError(f"{path} is not UTF-8 text: save it as CSV UTF-8") from error
    except OSError as error:
        raise ImportFileError(f"cannot read {path}: {error.strerror}") from error
    return read_rows(text, required=required, optional=optional, ignored=ignored)
