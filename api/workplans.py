import uuid
from typing import Annotated

from fastapi import Query, Request, Response

from api.deps import (
    Authenticated,
    CurrentPrincipal,
    DbRead,
    DbSession,
    IdempotencyKeyHeader,
    Pagination,
    RequiredIfMatch,
)
from api.dispatch import PathRouter
from api.export import exportable, exporter
from api.idempotency import create_once, idempotent
from api.openapi import page_of, problems
from api.permissions import SECRETARIAT_ONLY
from api.planned import PlannedRoute
from api.responses import json_response, page_response, record_response
from services.errors import NotFound
from services.export import ExportSource
from services.workplans import repository, service
from services.workplans.models import ActivityStatus
from services.workplans.schemas import (
    ActivityCreate,
    ActivityOut,
    ActivityStatusChangeIn,
    ActivityUpdate,
    OutputCreate,
    WorkplanCreate,
    WorkplanOut,
    WorkplanUpdate,
)

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/workplans",
    tags=["workplans"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)


@router.post("", status_code=201, response_model=WorkplanOut, responses=problems(403, 422))
@SECRETARIAT_ONLY
async def create_workplan(
    body: WorkplanCreate,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    return await create_once(
        session,
        request,
        principal,
        idempotency_key,
        lambda: service.create_workplan(session, data=body, actor=principal),
        collection="/v1/workplans",
    )


@router.get("", responses={**exportable(page_of(WorkplanOut)), **problems(422)})
async def list_workplans(
    request: Request, conn: DbRead, page: Pagination, network_id: uuid.UUID | None = None
) -> Response:
    if (export := exporter(request)) is not None:
        return export.response("workplans", ExportSource(repository.workplans_query(network_id=network_id)))
    return page_response(request, await repository.list_workplan_rows(conn, page, network_id=network_id))


@router.get("/{workplan_id}", response_model=WorkplanOut, responses=problems(404))
async def get_workplan(workplan_id: uuid.UUID, conn: DbRead) -> Response:
    row = await repository.get_workplan_row(conn, workplan_id)
    if row is None:
        raise NotFound("workplan-not-found", f"No workplan has id {workplan_id}.")
    return record_response(row)


@router.patch("/{workplan_id}", response_model=WorkplanOut, responses=problems(403, 404, 412, 422, 428))
@SECRETARIAT_ONLY
async def update_workplan(
    workplan_id: uuid.UUID,
    body: WorkplanUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    version: RequiredIfMatch,
) -> Response:
    """Its title or period; every activity's dates must stay within the new period."""
    row = await service.update_workplan(
        session, workplan_id=workplan_id, data=body, expected_version=version, actor=principal
    )
    return record_response(row)


@router.post(
    "/{workplan_id}/activities", status_code=201, response_model=ActivityOut, responses=problems(403, 404, 422)
)
@SECRETARIAT_ONLY
async def add_activity(
    workplan_id: uuid.UUID,
    body: ActivityCreate,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """An activity dated within the workplan's period; its working group, if any, is one of
    the workplan's network."""

    async def act() -> Response:
        row = await service.add_activity(session, workplan_id=workplan_id, data=body, actor=principal)
        location = f"/v1/workplans/{workplan_id}/activities/{row['id']}"
        return json_response(row, status_code=201, headers={"Location": location})

    return await idempotent(session, request, principal, idempotency_key, act)


@router.get("/{workplan_id}/activities", responses={**exportable(page_of(ActivityOut)), **problems(404, 422)})
async def list_activities(
    workplan_id: uuid.UUID,
    request: Request,
    conn: DbRead,
    page: Pagination,
    status: ActivityStatus | None = None,
    objective: Annotated[int | None, Query(ge=1, le=23, description="Activities on this GCM objective.")] = None,
) -> Response:
    if await repository.get_workplan_row(conn, workplan_id) is None:
        raise NotFound("workplan-not-found", f"No workplan has id {workplan_id}.")
    if (export := exporter(request)) is not None:
        query = repository.activities_query(workplan_id=workplan_id, status=status, objective=objective)
        return export.response(f"workplan-{workplan_id}-activities", ExportSource(query))
    return page_response(
        request,
        await repository.list_activity_rows(conn, page, workplan_id=workplan_id, status=status, objective=objective),
    )


@router.get("/{workplan_id}/activities/{activity_id}", response_model=ActivityOut, responses=problems(404))
async def get_activity(workplan_id: uuid.UUID, activity_id: uuid.UUID, conn: DbRead) -> Response:
    row = await repository.get_activity_row(conn, activity_id)
    if row is None or row["workplan_id"] != workplan_id:
        raise NotFound("activity-not-found", f"Workplan {workplan_id} has no activity {activity_id}.")
    return record_response(row)


@router.patch(
    "/{workplan_id}/activities/{activity_id}",
    response_model=ActivityOut,
    responses=problems(403, 404, 412, 422, 428),
)
@SECRETARIAT_ONLY
async def update_activity(
    workplan_id: uuid.UUID,
    activity_id: uuid.UUID,
    body: ActivityUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    version: RequiredIfMatch,
) -> Response:
    """Its title, leads (lead_entity_ids replaces them), working group or workstream,
    objectives, principles, or dates within the workplan's period; its status: .../status."""
    row = await service.update_activity(
        session,
        workplan_id=workplan_id,
        activity_id=activity_id,
        data=body,
        expected_version=version,
        actor=principal,
    )
    return record_response(row)


@router.post(
    "/{workplan_id}/activities/{activity_id}/status",
    response_model=ActivityOut,
    responses=problems(403, 404, 409, 422),
)
@SECRETARIAT_ONLY
async def change_activity_status(
    workplan_id: uuid.UUID,
    activity_id: uuid.UUID,
    body: ActivityStatusChangeIn,
    session: DbSession,
    principal: CurrentPrincipal,
) -> Response:
    """yet_to_start → ongoing or completed, ongoing → completed, completed → ongoing (reopened);
    dated, kept in the history. Completing an activity without an end date sets one."""
    row = await service.change_activity_status(
        session, workplan_id=workplan_id, activity_id=activity_id, data=body, actor=principal
    )
    return record_response(row)


@router.post(
    "/{workplan_id}/activities/{activity_id}/outputs",
    status_code=201,
    response_model=ActivityOut,
    responses=problems(403, 404, 422),
)
@SECRETARIAT_ONLY
async def add_output(
    workplan_id: uuid.UUID,
    activity_id: uuid.UUID,
    body: OutputCreate,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """An output (title, https link, publication date); answers with the activity."""

    async def act() -> Response:
        row = await service.add_output(
            session, workplan_id=workplan_id, activity_id=activity_id, data=body, actor=principal
        )
        return json_response(row, status_code=201)

    return await idempotent(session, request, principal, idempotency_key, act)
