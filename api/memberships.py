import uuid
from datetime import date
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
from api.path_records import MEMBERSHIP_ENTITY
from api.permissions import FOCAL_POINT, SECRETARIAT_ONLY, Access
from api.planned import PlannedRoute
from api.responses import page_response, record_response
from services.clock import clock
from services.dates import RegistryDate
from services.errors import InvalidInput, NotFound
from services.export import ExportSource
from services.flows import membership_end
from services.memberships import repository, service
from services.memberships.models import MembershipTier
from services.memberships.repository import PeriodFilter
from services.memberships.schemas import MembershipCreate, MembershipEnd, MembershipOut, MembershipUpdate, TierChange

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/memberships",
    tags=["memberships"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)

AsOf = Annotated[
    RegistryDate | None, Query(description="Memberships that cover this date (ISO 8601), e.g. 2019-06-01.")
]
Current = Annotated[bool | None, Query(description="true: memberships that cover today; false: those that do not.")]


def membership_period_filter(as_of: date | None, current: bool | None) -> PeriodFilter | None:
    if as_of is not None and current is not None:
        raise InvalidInput("conflicting-filters", "Use either as_of or current, not both.")
    if as_of is not None:
        return PeriodFilter(as_of)
    if current is not None:
        return PeriodFilter(clock.today(), active=current)
    return None


@router.post("", status_code=201, response_model=MembershipOut, responses=problems(409, 422))
@SECRETARIAT_ONLY
async def create_membership(
    body: MembershipCreate,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    if body.network_id is None:
        raise InvalidInput("network-required", "network_id is required (or POST to /v1/networks/{id}/memberships).")
    network_id = body.network_id

    return await create_once(
        session,
        request,
        principal,
        idempotency_key,
        lambda: service.create_membership(session, network_id=network_id, data=body, actor=principal),
        collection="/v1/memberships",
    )


@router.get("", responses={**exportable(page_of(MembershipOut)), **problems(422)})
async def list_memberships(
    request: Request,
    conn: DbRead,
    page: Pagination,
    network_id: uuid.UUID | None = None,
    entity_id: uuid.UUID | None = None,
    tier: MembershipTier | None = None,
    as_of: AsOf = None,
    current: Current = None,
) -> Response:
    if (export := exporter(request)) is not None:
        query = repository.memberships_query(
            network_id=network_id, entity_id=entity_id, tier=tier, period=membership_period_filter(as_of, current)
        )
        return export.response("memberships", ExportSource(query))
    result = await repository.list_membership_rows(
        conn,
        page,
        network_id=network_id,
        entity_id=entity_id,
        tier=tier,
        period=membership_period_filter(as_of, current),
    )
    return page_response(request, result)


@router.get("/{membership_id}", response_model=MembershipOut, responses=problems(404))
async def get_membership(membership_id: uuid.UUID, conn: DbRead) -> Response:
    row = await repository.get_membership_row(conn, membership_id)
    if row is None:
        raise NotFound("membership-not-found", f"No membership has id {membership_id}.")
    return record_response(row)


@router.patch("/{membership_id}", response_model=MembershipOut, responses=problems(404, 409, 412, 422, 428))
@Access(roles=FOCAL_POINT, owners=MEMBERSHIP_ENTITY)
async def update_membership(
    membership_id: uuid.UUID,
    body: MembershipUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    version: RequiredIfMatch,
) -> Response:
    row = await service.update_membership(
        session, membership_id=membership_id, data=body, expected_version=version, actor=principal
    )
    return record_response(row)


@router.post("/{membership_id}/end", response_model=MembershipOut, responses=problems(404, 409, 412, 422))
@SECRETARIAT_ONLY
async def end_membership(
    membership_id: uuid.UUID,
    body: MembershipEnd,
    session: DbSession,
    principal: CurrentPrincipal,
    version: OptionalIfMatch,
) -> Response:
    """Record the membership's last day, and end the working-group posts the entity held in
    the network that day. The network's coordinator cannot be ended (409)."""
    row = await membership_end.end_membership(
        session, membership_id=membership_id, data=body, expected_version=version, actor=principal
    )
    return record_response(row)


@router.post(
    "/{membership_id}/change-tier",
    status_code=201,
    response_model=MembershipOut,
    responses=problems(404, 409, 412, 422),
)
@SECRETARIAT_ONLY
async def change_tier(
    membership_id: uuid.UUID,
    body: TierChange,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    version: OptionalIfMatch,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """End this period the day before ``effective_date`` and start a new one in the other
    tier; returns the new membership, which points back at this one."""

    return await create_once(
        session,
        request,
        principal,
        idempotency_key,
        lambda: service.change_tier(
            session, membership_id=membership_id, data=body, expected_version=version, actor=principal
        ),
        collection="/v1/memberships",
    )
