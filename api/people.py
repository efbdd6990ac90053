"""People: focal points as persons, and their dated focal-point posts. A person's name and
e-mail address are shown to the secretariat and to the focal points of the person's entity
only; everyone else reads the person's id, entity, title and language."""

import dataclasses
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
from api.path_records import PERSON_ENTITY
from api.permissions import FOCAL_POINT, SECRETARIAT_ONLY, Access, BodyOwner
from api.planned import PlannedRoute
from api.responses import page_response, record_response
from services.dates import RegistryDate
from services.errors import NotFound
from services.export import ExportSource
from services.flows import person_erasure
from services.people import repository, service
from services.people.schemas import (
    FocalPointCreate,
    FocalPointEnd,
    FocalPointOut,
    PersonCreate,
    PersonOut,
    PersonUpdate,
)

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/people",
    tags=["people"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)


@router.post("", status_code=201, response_model=PersonOut, responses=problems(422))
@Access(roles=FOCAL_POINT, owners=BodyOwner("entity_id"))
async def create_person(
    body: PersonCreate,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Record a person of an entity (one of its focal points): the secretariat, or a focal
    point of that entity."""
    return await create_once(
        session,
        request,
        principal,
        idempotency_key,
        lambda: service.create_person(session, data=body, actor=principal),
        collection="/v1/people",
    )


@router.get("", responses={**exportable(page_of(PersonOut)), **problems(403, 422)})
async def list_people(
    request: Request,
    conn: DbRead,
    page: Pagination,
    principal: CurrentPrincipal,
    entity_id: uuid.UUID | None = None,
) -> Response:
    """People, in id order; name and e-mail only where the caller may read them. The export
    (CSV, NDJSON) is the secretariat's only (403 for anyone else): it is personal data."""
    if (export := exporter(request)) is not None:
        query = service.people_export_query(principal, entity_id=entity_id)
        return export.response("people", ExportSource(query))
    result = await repository.list_person_rows(conn, page, entity_id=entity_id)
    shown = dataclasses.replace(result, items=[service.shown_to(row, principal) for row in result.items])
    return page_response(request, shown)


@router.get("/{person_id}", response_model=PersonOut, responses=problems(404))
async def get_person(person_id: uuid.UUID, conn: DbRead, principal: CurrentPrincipal) -> Response:
    row = await repository.get_person_row(conn, person_id)
    if row is None:
        raise NotFound("person-not-found", f"No person has id {person_id}.")
    return record_response(service.shown_to(row, principal))


@router.patch("/{person_id}", response_model=PersonOut, responses=problems(404, 409, 412, 422, 428))
@Access(roles=FOCAL_POINT, owners=PERSON_ENTITY)
async def update_person(
    person_id: uuid.UUID,
    body: PersonUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    version: RequiredIfMatch,
) -> Response:
    """Change a person's name, title, e-mail or language: the secretariat, or a focal point
    of the person's entity."""
    row = await service.update_person(
        session, person_id=person_id, data=body, expected_version=version, actor=principal
    )
    return record_response(row)


@router.post("/{person_id}/erase", response_model=PersonOut, responses=problems(404, 409))
@SECRETARIAT_ONLY
async def erase_person(person_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal) -> Response:
    """Erase a person's name and e-mail address at their request, from the person, from the
    change feed's earlier events and from the e-mail deliveries addressed to them (those not yet
    sent fail); the audit trail names them by pseudonym only."""
    return record_response(await person_erasure.erase_person(session, person_id=person_id, actor=principal))


@router.get("/{person_id}/posts", responses={**exportable(page_of(FocalPointOut)), **problems(403, 404, 422)})
async def list_focal_point_posts(
    person_id: uuid.UUID,
    request: Request,
    conn: DbRead,
    page: Pagination,
    principal: CurrentPrincipal,
    as_of: Annotated[RegistryDate | None, Query(description="Posts running on this date (ISO 8601).")] = None,
) -> Response:
    """The person's focal-point posts, past, current and future. The export (CSV, NDJSON) is
    the secretariat's only (403 for anyone else), as the people export is."""
    if await repository.get_person_row(conn, person_id) is None:
        raise NotFound("person-not-found", f"No person has id {person_id}.")
    if (export := exporter(request)) is not None:
        query = service.posts_export_query(principal, person_id=person_id, as_of=as_of)
        return export.response(f"person-{person_id}-posts", ExportSource(query))
    result = await repository.list_post_rows(conn, page, person_id=person_id, as_of=as_of)
    return page_response(request, result)


@router.post("/{person_id}/posts", status_code=201, response_model=FocalPointOut, responses=problems(404, 409, 422))
@Access(roles=FOCAL_POINT, owners=PERSON_ENTITY)
async def appoint_focal_point(
    person_id: uuid.UUID,
    body: FocalPointCreate,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Appoint the person focal point for their entity, a network or a working group from a
    date: the secretariat, or a focal point of the person's entity."""
    return await create_once(
        session,
        request,
        principal,
        idempotency_key,
        lambda: service.appoint_focal_point(session, person_id=person_id, data=body, actor=principal),
        collection=f"/v1/people/{person_id}/posts",
    )


@router.post(
    "/{person_id}/posts/{focal_point_id}/end",
    response_model=FocalPointOut,
    responses=problems(404, 409, 412, 422),
)
@Access(roles=FOCAL_POINT, owners=PERSON_ENTITY)
async def end_focal_point(
    person_id: uuid.UUID,
    focal_point_id: uuid.UUID,
    body: FocalPointEnd,
    session: DbSession,
    principal: CurrentPrincipal,
    version: OptionalIfMatch,
) -> Response:
    """End a focal-point post on its last day."""
    row = await service.end_focal_point(
        session, person_id=person_id, post_id=focal_point_id, data=body, expected_version=version, actor=principal
    )
    return record_response(row)
