import uuid
from typing import Any

from fastapi import Request, Response

from api.deps import Authenticated, DbRead
from api.dispatch import PathRouter
from api.documents import CoverageOut
from api.export import HeaderStyle
from api.negotiation import CSV, JSON, negotiate
from api.openapi import problems
from api.planned import PlannedRoute
from api.responses import json_response
from services.coverage.repository import coverage_rows
from services.errors import NotFound
from services.networks.repository import network_exists
from services.tables import CsvHeader, csv_text

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/networks",
    tags=["coverage"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)

CSV_COLUMNS = (
    "objective",
    "title",
    "working_groups",
    "mou_areas",
    "lead_parties",
    "activities",
    "uncovered",
    "contested",
)


def _csv(rows: list[dict[str, Any]], header: CsvHeader) -> str:
    return csv_text(
        CSV_COLUMNS,
        (
            (
                row["objective"],
                row["title"],
                "; ".join(g["name"] for g in row["working_groups"]),
                "; ".join(f"{a['reference_number']}: {a['description']}" for a in row["mou_areas"]),
                "; ".join(sorted({a["lead"]["acronym"] for a in row["mou_areas"]})),
                row["activities"],
                row["uncovered"],
                row["contested"],
            )
            for row in rows
        ),
        header=header,
    )


@router.get(
    "/{network_id}/coverage",
    responses={
        200: {
            "description": "One row per GCM objective (JSON, or CSV with `Accept: text/csv`: UTF-8 with a "
            "byte-order mark, its columns named as `header` asks).",
            "model": CoverageOut,
            "content": {JSON: {}, CSV: {"schema": {"type": "string"}}},
        },
        **problems(404, 406),
    },
)
async def get_coverage(
    network_id: uuid.UUID, request: Request, conn: DbRead, header: HeaderStyle = CsvHeader.LABELS
) -> Response:
    """Which of the 23 GCM objectives the network's active working groups and active MoU
    areas cover, and how many current workplan activities are on each (activities not
    completed of workplans whose period holds today; they do not make an objective covered);
    ``uncovered`` when no group or area does, ``contested`` when two or more different
    lead parties claim areas on it. Avoids duplicating existing coordination mechanisms."""
    media_type = negotiate(request.headers.get("accept"), (JSON, CSV))
    if not await network_exists(conn, network_id):
        raise NotFound("network-not-found", f"No network has id {network_id}.")
    rows = await coverage_rows(conn, network_id)
    if media_type == CSV:
        return Response(
            _csv(rows, header),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="coverage-{network_id}.csv"', "Vary": "Accept"},
        )
    return json_response({"network_id": network_id, "items": rows}, headers={"Vary": "Accept"})
