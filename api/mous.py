import uuid
from typing import Annotated

from fastapi import Query, Request, Response

from api.deps import (
    Authenticated,
    CurrentPrincipal,
    DbRead,
    DbSession,
    IdempotencyKeyHeader,
    OptionalIfMatch,
    Pagination,
    RequiredIfMatch,
)
from api.dispatch import PathRouter
from api.documents import MouHistoryOut, documented
from api.export import exportable, exporter
from api.idempotency import create_once
from api.openapi import page_of, problems
from api.permissions import FOCAL_POINT, SECRETARIAT_ONLY, Access, BodyOwner
from api.planned import PlannedRoute
from api.responses import json_response, page_response, record_response
from services.dates import RegistryDate
from services.errors import NotFound
from services.export import ExportSource
from services.mous import repository, service
from services.mous.models import MouStatus
from services.mous.schemas import MouCreate, MouOut, MouRefresh, MouSign, MouTerminate, MouUpdate

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/mous",
    tags=["mous"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)


@router.post("", status_code=201, response_model=MouOut, responses=problems(403, 409, 422))
@SECRETARIAT_ONLY
async def create_mou(
    body: MouCreate,
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
        lambda: service.create_mou(session, data=body, actor=principal),
        collection="/v1/mous",
    )


@router.get("", responses={**exportable(page_of(MouOut)), **problems(422)})
async def list_mous(
    request: Request,
    conn: DbRead,
    page: Pagination,
    network_id: uuid.UUID | None = None,
    status: MouStatus | None = None,
    party_entity_id: uuid.UUID | None = None,
    objective: Annotated[int | None, Query(ge=1, le=23)] = None,
    review_due_before: Annotated[
        RegistryDate | None, Query(description="MoUs whose review falls due by this date.")
    ] = None,
) -> Response:
    filters = repository.MouFilters(network_id, status, party_entity_id, objective, review_due_before)
    if (export := exporter(request)) is not None:
        return export.response("mous", ExportSource(repository.mous_query(filters)))
    return page_response(request, await repository.list_mou_rows(conn, page, filters))


@router.get("/{mou_id}", response_model=MouOut, responses=problems(404))
async def get_mou(mou_id: uuid.UUID, conn: DbRead) -> Response:
    row = await repository.get_mou_row(conn, mou_id)
    if row is None:
        raise NotFound("mou-not-found", f"No MoU has id {mou_id}.")
    return record_response(row)


@router.get(
    "/{mou_id}/history",
    responses={**documented(MouHistoryOut, "Every change to the MoU's chain, oldest first."), **problems(404)},
)
async def get_mou_history(mou_id: uuid.UUID, conn: DbRead) -> Response:
    """Every change to this MoU and to the chain of MoUs it refreshed or that refresh it, oldest first."""
    ids = await repository.chain_ids(conn, mou_id)
    if not ids:
        raise NotFound("mou-not-found", f"No MoU has id {mou_id}.")
    return json_response({"mou_ids": ids, "items": await repository.history_rows(conn, ids)})


@router.patch("/{mou_id}", response_model=MouOut, responses=problems(403, 404, 409, 412, 422, 428))
@SECRETARIAT_ONLY
async def update_mou(
    mou_id: uuid.UUID, body: MouUpdate, session: DbSession, principal: CurrentPrincipal, version: RequiredIfMatch
) -> Response:
    """Drafts and MoUs under negotiation only; a change under negotiation clears the signatures given."""
    row = await service.update_mou(session, mou_id=mou_id, data=body, expected_version=version, actor=principal)
    return record_response(row)


@router.post("/{mou_id}/submit", response_model=MouOut, responses=problems(403, 404, 409, 412))
@SECRETARIAT_ONLY
async def submit_mou(
    mou_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, version: OptionalIfMatch
) -> Response:
    """draft → negotiation."""
    return record_response(await service.submit_mou(session, mou_id=mou_id, expected_version=version, actor=principal))


@router.post("/{mou_id}/sign", response_model=MouOut, responses=problems(403, 404, 409, 412, 422))
@Access(roles=FOCAL_POINT, owners=BodyOwner("entity_id"))
async def sign_mou(
    mou_id: uuid.UUID, body: MouSign, session: DbSession, principal: CurrentPrincipal, version: OptionalIfMatch
) -> Response:
    """A party's signature; a focal point signs for its own entity only."""
    row = await service.sign_mou(session, mou_id=mou_id, data=body, expected_version=version, actor=principal)
    return record_response(row)


@router.post("/{mou_id}/terminate", response_model=MouOut, responses=problems(403, 404, 409, 412, 422))
@SECRETARIAT_ONLY
async def terminate_mou(
    mou_id: uuid.UUID, body: MouTerminate, session: DbSession, principal: CurrentPrincipal, version: OptionalIfMatch
) -> Response:
    row = await service.terminate_mou(session, mou_id=mou_id, data=body, expected_version=version, actor=principal)
    return record_response(row)


@router.post("/{mou_id}/refresh", status_code=201, response_model=MouOut, responses=problems(403, 404, 409, 422))
@SECRETARIAT_ONLY
async def refresh_mou(
    mou_id: uuid.UUID,
    body: MouRefresh,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """A new draft with the same parties and areas; it supersedes this MoU when it becomes active."""

    return await create_once(
        session,
        request,
        principal,
        idempotency_key,
        lambda: service.refresh_mou(session, mou_id=mou_id, data=body, actor=principal),
        collection="/v1/mous",
    )
