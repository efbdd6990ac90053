"""The report as a zip holding one CSV file per section (``membership_changes.csv``, ...)."""

import csv
import io
import zipfile
from datetime import date, datetime
from typing import Any

from services.reports.sections import SECTIONS, Section

# A spreadsheet runs a cell that starts with one of these as a formula; record text (names,
# titles) comes from users, so such a cell is kept as text with a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)


def section_csv(section: Section, rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(section.columns)
    for row in rows:
        writer.writerow(cell(row[column]) for column in section.columns)
    return buffer.getvalue()


def report_zip(report: dict[str, Any]) -> bytes:
    """The zip's bytes; its comment names the network and the period."""
    generated: datetime = report["generated_at"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        period = report["period"]
        archive.comment = f"Activity report: {report['network']['name']}, {period['from']} to {period['to']}".encode()[
            :65535
        ]
        for section in SECTIONS:
            info = zipfile.ZipInfo(f"{section.name}.csv", date_time=generated.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, section_csv(section, report[section.name]).encode("utf-8"))
    return buffer.getvalue()
