"""CSV read as a spreadsheet reads it: the bytes must start with UTF-8's byte-order mark (what
tells Excel the file is UTF-8), which is then dropped (``utf-8-sig``)."""

import codecs
import csv
import io


def _text(content: bytes) -> str:
    assert content.startswith(codecs.BOM_UTF8), content[:20]
    return content.decode("utf-8-sig")


def csv_table(content: bytes) -> list[list[str]]:
    """The lines of a CSV file, the header first."""
    return list(csv.reader(io.StringIO(_text(content), newline="")))


def csv_records(content: bytes) -> list[dict[str, str]]:
    """The rows of a CSV file, each by its header's names."""
    return list(csv.DictReader(io.StringIO(_text(content), newline="")))
