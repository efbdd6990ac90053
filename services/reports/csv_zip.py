"""The report as a zip holding one CSV file per section (``membership_changes.csv``, ...)."""

import io
import zipfile
from datetime import datetime
from typing import Any

from services.reports.sections import SECTIONS, Section
from services.tables import CsvHeader, csv_text


def section_csv(section: Section, rows: list[dict[str, Any]], header: CsvHeader = CsvHeader.LABELS) -> str:
    return csv_text(section.columns, ([row[column] for column in section.columns] for row in rows), header=header)


def report_zip(report: dict[str, Any], header: CsvHeader = CsvHeader.LABELS) -> bytes:
    """The zip's bytes, a CSV file per section with its columns named as ``header`` asks; its comment names the network and the period, and carries the report's
    designation footnotes, which a ``footnotes.txt`` also holds."""
    generated: datetime = report["generated_at"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        period = report["period"]
        heading = f"Activity report: {report['network']['name']}, {period['from']} to {period['to']}"
        archive.comment = "\n".join([heading, *report["footnotes"]]).encode()[:65535]
        if report["footnotes"]:
            info = zipfile.ZipInfo("footnotes.txt", date_time=generated.timetuple()[:6])
            archive.writestr(info, "\n".join(report["footnotes"]) + "\n")
        for section in SECTIONS:
            info = zipfile.ZipInfo(f"{section.name}.csv", date_time=generated.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, section_csv(section, report[section.name], header).encode("utf-8"))
    return buffer.getvalue()
