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
from api.export import exportable, exporter
from api.idempotency import create_once
from api.openapi import page_of, problems
from api.path_records import THE_ENTITY
from api.permissions import FOCAL_POINT, SECRETARIAT_ONLY, Access
from api.planned import PlannedRoute
from api.responses import page_response, record_response
from services.entities import repository, service
from services.entities.models import EntityKind
from services.entities.schemas import Acronym, EntityCreate, EntityOut, EntityUpdate
from services.errors import NotFound
from services.export import ExportSource
from services.reference.types import CountryCode

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/entities",
    tags=["entities"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)


@router.post("", status_code=201, response_model=EntityOut, responses=problems(409, 422))
@SECRETARIAT_ONLY
async def create_entity(
    body: EntityCreate,
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
        lambda: service.create_entity(session, data=body, actor=principal),
        collection="/v1/entities",
    )


@router.get("", responses={**exportable(page_of(EntityOut)), **problems(422)})
async def list_entities(
    request: Request,
    conn: DbRead,
    page: Pagination,
    kind: EntityKind | None = None,
    un_system: bool | None = None,
    parent_id: uuid.UUID | None = None,
    acronym: Annotated[Acronym | None, Query(max_length=32)] = None,
    country_code: Annotated[CountryCode | None, Query()] = None,
) -> Response:
    if (export := exporter(request)) is not None:
        query = repository.entities_query(
            kind=kind, un_system=un_system, parent_id=parent_id, acronym=acronym, country_code=country_code
        )
        return export.response("entities", ExportSource(query))
    result = await repository.list_entity_rows(
        conn, page, kind=kind, un_system=un_system, parent_id=parent_id, acronym=acronym, country_code=country_code
    )
    return page_response(request, result)


@router.get("/{entity_id}", response_model=EntityOut, responses=problems(404))
async def get_entity(entity_id: uuid.UUID, conn: DbRead) -> Response:
    row = await repository.get_entity_row(conn, entity_id)
    if row is None:
        raise NotFound("entity-not-found", f"No entity has id {entity_id}.")
    return record_response(row)


@router.patch("/{entity_id}", response_model=EntityOut, responses=problems(404, 409, 412, 422, 428))
@Access(roles=FOCAL_POINT, owners=THE_ENTITY)
async def update_entity(
    entity_id: uuid.UUID, body: EntityUpdate, session: DbSession, principal: CurrentPrincipal, version: RequiredIfMatch
) -> Response:
    row = await service.update_entity(
        session, entity_id=entity_id, data=body, expected_version=version, actor=principal
    )
    return record_response(row)


@router.delete("/{entity_id}", status_code=204, responses=problems(404, 409, 412))
@SECRETARIAT_ONLY
async def delete_entity(
    entity_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, version: OptionalIfMatch
) -> Response:
    await service.delete_entity(session, entity_id=entity_id, expected_version=version, actor=principal)
    return Response(status_code=204)
