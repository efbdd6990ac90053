import asyncio
import hashlib
import uuid
from typing import Annotated, Any

import orjson
from fastapi import Query, Request, Response

from api.deps import Authenticated, DbRead
from api.dispatch import PathRouter
from api.export import HeaderStyle
from api.negotiation import CSV, HTML, JSON, PDF, ZIP, negotiate
from api.openapi import problems
from api.planned import PlannedRoute
from api.responses import json_response
from services.dates import RegistryDate
from services.locales import DEFAULT_LANGUAGE, Language, localizer
from services.locales import negotiate as negotiate_language
from services.reports.csv_zip import report_zip
from services.reports.html import CONTENT_SECURITY_POLICY, report_html
from services.reports.pdf import report_pdf
from services.reports.sections import SECTIONS
from services.reports.service import activity_report
from services.tables import CsvHeader

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/networks",
    tags=["reports"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)

# Preference on ties (Accept: */*, text/*): JSON, then the page a browser asks for.
OFFERS = (JSON, HTML, ZIP, CSV, PDF)

_SECTION_LIST = ", ".join(f"`{s.name}`" for s in SECTIONS)


@router.get(
    "/{network_id}/reports/activity",
    responses={
        200: {
            "description": "The report. `application/json` (default): `network`, `period`, `generated_at`, "
            f"and one array of rows per section ({_SECTION_LIST}). `application/zip` (or `text/csv`): a zip "
            "with one CSV file per section, named after it (UTF-8 with a byte-order mark; `header` names "
            "their columns). `text/html`: a printable page with the "
            "membership and coverage charts as inline SVG. `application/pdf`: that page laid out on A4 "
            "(the summary on the first page, then the sections).",
            "content": {
                JSON: {"schema": {"type": "object"}},
                ZIP: {"schema": {"type": "string", "format": "binary"}},
                HTML: {"schema": {"type": "string"}},
                PDF: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        304: {
            "description": "Not modified: the report in this format and language is still the one whose ETag "
            "the client sent in If-None-Match."
        },
        **problems(404, 406, 422, 503),
    },
)
async def get_activity_report(
    network_id: uuid.UUID,
    request: Request,
    conn: DbRead,
    from_: Annotated[RegistryDate, Query(alias="from", description="The period's first day.")],
    to: Annotated[RegistryDate, Query(description="The period's last day (at most ten years after `from`).")],
    header: HeaderStyle = CsvHeader.LABELS,
    lang: Annotated[
        Language | None,
        Query(
            description="The page's and the PDF's language (ISO 639-1, one of the six official languages of the "
            "United Nations); without it, the one `Accept-Language` prefers, else English. `Content-Language` "
            "says which. The JSON and the CSV files keep codes and English labels for programs."
        ),
    ] = None,
) -> Response:
    """What the network did in a period, computed from the records and the event history:
    membership changes and membership by tier month by month, working groups, MoUs, meetings,
    changes recorded, effectiveness reviews and the recommendations followed up, the
    indicators at the start and the end, and GCM objective coverage on the last day."""
    media_type = negotiate(request.headers.get("accept"), OFFERS)
    report = await activity_report(conn, network_id=network_id, start=from_, end=to)
    # Pages for people are written in the reader's language; data for programs is the same in all.
    for_people = media_type in (HTML, PDF)
    language = (lang or negotiate_language(request.headers.get("accept-language"))) if for_people else DEFAULT_LANGUAGE
    etag = _report_etag(report, media_type, language, header)
    headers = {"Vary": "Accept, Accept-Language", "Content-Language": language, "ETag": etag}
    if _not_modified(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    if media_type == JSON:
        return json_response(report, headers=headers)
    if media_type == HTML:
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        page = report_html(report, localizer(language))
        return Response(page, media_type="text/html; charset=utf-8", headers=headers)
    if media_type == PDF:
        headers["Content-Disposition"] = f'inline; filename="activity-report-{from_}-{to}-{language}.pdf"'
        pdf = await asyncio.to_thread(report_pdf, report, localizer(language))
        return Response(pdf, media_type=PDF, headers=headers)
    filename = f"activity-report-{network_id}-{from_}-{to}.zip"
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(report_zip(report, header), media_type=ZIP, headers=headers)


def _report_etag(report: dict[str, Any], media_type: str, language: str, header: CsvHeader) -> str:
    """A weak ETag: the same records give the same report in a format and a language, though
    the time it was computed at (in the page, the PDF and the JSON) differs."""
    content = {key: value for key, value in report.items() if key != "generated_at"}
    digest = hashlib.sha256(orjson.dumps([media_type, language, header, content], default=str))
    return f'W/"{digest.hexdigest()[:32]}"'


def _not_modified(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match compared weakly (RFC 9110 13.1.2), as a GET must."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags
