"""A CSV file as rows that remember their line, checked against the columns a kind takes."""

import csv
import io
from dataclasses import dataclass
from pathlib import Path


class ImportFileError(Exception):
    """The file as a whole cannot be read (no header, a column the kind does not take...)."""


@dataclass(frozen=True)
class CsvRow:
    line: int  # where the row starts in the file, 1 being the header
    values: dict[str, str]  # column -> cell, blank cells left out


def read_rows(text: str, *, required: tuple[str, ...], optional: tuple[str, ...]) -> list[CsvRow]:
    """The data rows of a CSV text (UTF-8, a header line first; blank lines skipped)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise ImportFileError("the file is empty: the first line must name the columns")
    columns = [h.strip() for h in header]
    allowed = (*required, *optional)
    unknown = [c for c in columns if c not in allowed]
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
        rows.append(CsvRow(line, {c: v.strip() for c, v in zip(columns, cells, strict=True) if v.strip()}))
    return rows


def read_file(path: Path, *, required: tuple[str, ...], optional: tuple[str, ...]) -> list[CsvRow]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's byte-order mark is no column name
    except UnicodeDecodeError as error:
        raise ImportFileError(f"{path} is not UTF-8 text: save it as CSV UTF-8") from error
    except OSError as error:
        raise ImportFileError(f"cannot read {path}: {error.strerror}") from error
    return read_rows(text, required=required, optional=optional)
