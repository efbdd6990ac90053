import asyncio
import uuid
from typing import Annotated

from fastapi import Query, Request, Response

from api.deps import Authenticated, DbRead
from api.dispatch import PathRouter
from api.export import HeaderStyle
from api.negotiation import CSV, HTML, JSON, PDF, ZIP, negotiate
from api.openapi import problems
from api.planned import PlannedRoute
from api.responses import json_response
from services.dates import RegistryDate
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
) -> Response:
    """What the network did in a period, computed from the records and the event history:
    membership changes and membership by tier month by month, working groups, MoUs, meetings,
    changes recorded, effectiveness reviews and the recommendations followed up, the
    indicators at the start and the end, and GCM objective coverage on the last day."""
    media_type = negotiate(request.headers.get("accept"), OFFERS)
    report = await activity_report(conn, network_id=network_id, start=from_, end=to)
    headers = {"Vary": "Accept"}
    if media_type == JSON:
        return json_response(report, headers=headers)
    if media_type == HTML:
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return Response(report_html(report), media_type="text/html; charset=utf-8", headers=headers)
    if media_type == PDF:
        headers["Content-Disposition"] = f'inline; filename="activity-report-{from_}-{to}.pdf"'
        return Response(await asyncio.to_thread(report_pdf, report), media_type=PDF, headers=headers)
    filename = f"activity-report-{network_id}-{from_}-{to}.zip"
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(report_zip(report, header), media_type=ZIP, headers=headers)
