import uuid
from typing import Annotated, Any

from fastapi import Query, Request, Response

from api.deps import Authenticated, CurrentPrincipal, DbRead, Pagination
from api.dispatch import PathRouter
from api.export import exportable, exporter
from api.openapi import problems
from api.planned import PlannedRoute
from api.responses import page_response
from services.audit.repository import audit_query, list_audit_rows
from services.dates import RegistryDateTime
from services.export import ExportSource
from services.schemas import OneLine, RecordType

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/audit-log",
    tags=["audit"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)

AUDIT_ENTRY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "principal_id": {"type": "string"},
        "principal_role": {"type": "string"},
        "principal_person_id": {
            "type": ["string", "null"],
            "format": "uuid",
            "description": "The person acting, when the caller's API key is issued to one (GET /v1/people).",
        },
        "action": {"type": "string", "example": "membership.ended"},
        "resource_type": {"type": "string"},
        "resource_id": {"type": "string", "format": "uuid"},
        "owner_entity_id": {"type": ["string", "null"], "format": "uuid"},
        "network_id": {"type": ["string", "null"], "format": "uuid"},
        "before": {"type": ["object", "null"]},
        "after": {"type": ["object", "null"]},
        "request_id": {"type": ["string", "null"]},
    },
}


@router.get(
    "",
    responses={
        **exportable(
            {
                200: {
                    "description": "A page of audit entries, oldest first.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "items": {"type": "array", "items": AUDIT_ENTRY_SCHEMA},
                                    "next_cursor": {"type": ["string", "null"]},
                                },
                            }
                        }
                    },
                }
            }
        ),
        **problems(403, 422),
    },
)
async def list_audit_entries(
    request: Request,
    conn: DbRead,
    page: Pagination,
    principal: CurrentPrincipal,
    resource_type: Annotated[RecordType | None, Query(max_length=50, examples=["membership"])] = None,
    resource_id: uuid.UUID | None = None,
    principal_id: Annotated[OneLine | None, Query(max_length=200, description="e.g. key:<id> or user:<sub>")] = None,
    since: RegistryDateTime | None = None,
    until: RegistryDateTime | None = None,
) -> Response:
    """Who changed what and when. Admins read it all; a focal point reads its own entity's records' entries."""
    if (export := exporter(request)) is not None:
        query = audit_query(
            principal,
            resource_type=resource_type,
            resource_id=resource_id,
            principal_id=principal_id,
            since=since,
            until=until,
        )
        return export.response("audit-log", ExportSource(query))
    result = await list_audit_rows(
        conn,
        page,
        principal,
        resource_type=resource_type,
        resource_id=resource_id,
        principal_id=principal_id,
        since=since,
        until=until,
    )
    return page_response(request, result)
