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
)
from api.dispatch import PathRouter
from api.export import exportable, exporter
from api.idempotency import create_once, idempotent
from api.openapi import page_of, problems
from api.permissions import SECRETARIAT_ONLY
from api.planned import PlannedRoute
from api.responses import json_response, page_response, record_response
from services.commitments import repository, service
from services.commitments.models import PledgeStatus
from services.commitments.schemas import (
    ChampionCountryCreate,
    ChampionCountryEnd,
    ChampionCountryOut,
    PledgeCreate,
    PledgeOut,
    PledgeStatusChange,
)
from services.dates import RegistryDate
from services.errors import NotFound
from services.export import ExportSource
from services.networks.repository import network_exists

router = PathRouter(
    route_class=PlannedRoute, tags=["commitments"], dependencies=[Authenticated], responses=problems(401, 429)
)


@router.post(
    "/v1/networks/{network_id}/champion-countries",
    status_code=201,
    response_model=ChampionCountryOut,
    responses=problems(403, 404, 409, 422),
)
@SECRETARIAT_ONLY
async def add_champion_country(
    network_id: uuid.UUID,
    body: ChampionCountryCreate,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """A member state (ISO 3166-1 code) champions the network over a dated period; one
    country's periods never overlap (409)."""

    async def act() -> Response:
        row = await service.add_champion_country(session, network_id=network_id, data=body, actor=principal)
        return json_response(row, status_code=201)

    return await idempotent(session, request, principal, idempotency_key, act)


@router.get(
    "/v1/networks/{network_id}/champion-countries",
    responses={**exportable(page_of(ChampionCountryOut)), **problems(404, 422)},
)
async def list_champion_countries(
    network_id: uuid.UUID,
    request: Request,
    conn: DbRead,
    page: Pagination,
    as_of: Annotated[RegistryDate | None, Query(description="Champions on this date.")] = None,
) -> Response:
    if not await network_exists(conn, network_id):
        raise NotFound("network-not-found", f"No network has id {network_id}.")
    if (export := exporter(request)) is not None:
        query = repository.champions_query(network_id=network_id, as_of=as_of)
        return export.response(f"network-{network_id}-champion-countries", ExportSource(query))
    return page_response(request, await repository.list_champion_rows(conn, page, network_id=network_id, as_of=as_of))


@router.post(
    "/v1/networks/{network_id}/champion-countries/{champion_id}/end",
    response_model=ChampionCountryOut,
    responses=problems(403, 404, 409, 412, 422),
)
@SECRETARIAT_ONLY
async def end_champion_country(
    network_id: uuid.UUID,
    champion_id: uuid.UUID,
    body: ChampionCountryEnd,
    session: DbSession,
    principal: CurrentPrincipal,
    version: OptionalIfMatch,
) -> Response:
    """The champion's last day; one already ended is a 409 (record a new period instead)."""
    row = await service.end_champion_country(
        session,
        network_id=network_id,
        champion_id=champion_id,
        data=body,
        expected_version=version,
        actor=principal,
    )
    return record_response(row)


@router.post("/v1/pledges", status_code=201, response_model=PledgeOut, responses=problems(403, 422))
@SECRETARIAT_ONLY
async def create_pledge(
    body: PledgeCreate,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """A pledge by a member state (pledger_country_code) or another stakeholder
    (pledger_entity_id), announced today and followed up until its due date."""
    return await create_once(
        session,
        request,
        principal,
        idempotency_key,
        lambda: service.create_pledge(session, data=body, actor=principal),
        collection="/v1/pledges",
    )


@router.get("/v1/pledges", responses={**exportable(page_of(PledgeOut)), **problems(422)})
async def list_pledges(
    request: Request,
    conn: DbRead,
    page: Pagination,
    network_id: uuid.UUID | None = None,
    status: PledgeStatus | None = None,
    objective: Annotated[int | None, Query(ge=1, le=23, description="Pledges on this GCM objective.")] = None,
) -> Response:
    if (export := exporter(request)) is not None:
        query = repository.pledges_query(network_id=network_id, status=status, objective=objective)
        return export.response("pledges", ExportSource(query))
    return page_response(
        request,
        await repository.list_pledge_rows(conn, page, network_id=network_id, status=status, objective=objective),
    )


@router.get("/v1/pledges/{pledge_id}", response_model=PledgeOut, responses=problems(404))
async def get_pledge(pledge_id: uuid.UUID, conn: DbRead) -> Response:
    row = await repository.get_pledge_row(conn, pledge_id)
    if row is None:
        raise NotFound("pledge-not-found", f"No pledge has id {pledge_id}.")
    return record_response(row)


@router.post("/v1/pledges/{pledge_id}/status", response_model=PledgeOut, responses=problems(403, 404, 409, 422))
@SECRETARIAT_ONLY
async def change_pledge_status(
    pledge_id: uuid.UUID, body: PledgeStatusChange, session: DbSession, principal: CurrentPrincipal
) -> Response:
    """announced → in_progress, fulfilled or withdrawn; in_progress → fulfilled or withdrawn."""
    row = await service.change_pledge_status(session, pledge_id=pledge_id, data=body, actor=principal)
    return record_response(row)
