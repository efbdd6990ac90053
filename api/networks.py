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
from api.memberships import membership_period_filter
from api.openapi import in_language, page_of, problems
from api.path_records import NETWORK_LEADS
from api.permissions import FOCAL_POINT, SECRETARIAT_ONLY, Access
from api.planned import PlannedRoute
from api.responses import localized_record_response, page_response, record_response
from services.dates import RegistryDate
from services.errors import InvalidInput, NotFound
from services.export import ExportSource
from services.memberships import repository as membership_repository
from services.memberships import service as membership_service
from services.memberships.models import MembershipTier
from services.memberships.schemas import MembershipCreate, MembershipOut
from services.networks import posts, repository, service
from services.networks.models import NetworkScope, PostRole
from services.networks.schemas import TRANSLATED_FIELDS as NETWORK_TEXTS
from services.networks.schemas import (
    NetworkCreate,
    NetworkOut,
    NetworkPostCreate,
    NetworkPostEnd,
    NetworkPostOut,
    NetworkUpdate,
)
from services.reference.types import CountryCode

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/networks",
    tags=["networks"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)


@router.post("", status_code=201, response_model=NetworkOut, responses=problems(409, 422))
@SECRETARIAT_ONLY
async def create_network(
    body: NetworkCreate,
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
        lambda: service.create_network(session, data=body, actor=principal),
        collection="/v1/networks",
    )


@router.get("", responses={**in_language(exportable(page_of(NetworkOut))), **problems(422)})
async def list_networks(
    request: Request,
    conn: DbRead,
    page: Pagination,
    scope: NetworkScope | None = None,
    parent_network_id: uuid.UUID | None = None,
    coordinator_entity_id: Annotated[
        uuid.UUID | None,
        Query(
            deprecated=True,
            description="Deprecated: the networks with a coordinator post held by this entity today. Read a "
            "network's leadership, or its posts (GET /v1/networks/{network_id}/posts), instead.",
        ),
    ] = None,
    country_code: Annotated[CountryCode | None, Query()] = None,
) -> Response:
    if (export := exporter(request)) is not None:
        query = repository.networks_query(
            scope=scope,
            parent_network_id=parent_network_id,
            coordinator_entity_id=coordinator_entity_id,
            country_code=country_code,
        )
        return export.response("networks", ExportSource(query))
    result = await repository.list_network_rows(
        conn,
        page,
        scope=scope,
        parent_network_id=parent_network_id,
        coordinator_entity_id=coordinator_entity_id,
        country_code=country_code,
    )
    return page_response(request, result, translated=NETWORK_TEXTS)


@router.get("/{network_id}", response_model=NetworkOut, responses=in_language(problems(404)))
async def get_network(network_id: uuid.UUID, request: Request, conn: DbRead) -> Response:
    """In the language `Accept-Language` prefers, field by field, English where the network's
    `translations` lack one (`Content-Language` names the languages of the answer)."""
    row = await repository.get_network_row(conn, network_id)
    if row is None:
        raise NotFound("network-not-found", f"No network has id {network_id}.")
    return localized_record_response(request, row, NETWORK_TEXTS)


@router.patch("/{network_id}", response_model=NetworkOut, responses=problems(404, 409, 412, 422, 428))
@Access(roles=FOCAL_POINT, owners=NETWORK_LEADS)
async def update_network(
    network_id: uuid.UUID,
    body: NetworkUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    version: RequiredIfMatch,
) -> Response:
    """The secretariat; or a focal point of an entity holding one of the network's posts
    today (its name, short name, region, country and description)."""
    row = await service.update_network(
        session, network_id=network_id, data=body, expected_version=version, actor=principal
    )
    return record_response(row)


@router.get("/{network_id}/memberships", responses={**exportable(page_of(MembershipOut)), **problems(404, 422)})
async def list_network_memberships(
    network_id: uuid.UUID,
    request: Request,
    conn: DbRead,
    page: Pagination,
    tier: MembershipTier | None = None,
    entity_id: uuid.UUID | None = None,
    as_of: Annotated[RegistryDate | None, Query(description="Members on this date (ISO 8601).")] = None,
    current: Annotated[bool | None, Query(description="true: members today.")] = None,
) -> Response:
    if not await repository.network_exists(conn, network_id):
        raise NotFound("network-not-found", f"No network has id {network_id}.")
    if (export := exporter(request)) is not None:
        query = membership_repository.memberships_query(
            network_id=network_id, entity_id=entity_id, tier=tier, period=membership_period_filter(as_of, current)
        )
        return export.response(f"network-{network_id}-memberships", ExportSource(query))
    result = await membership_repository.list_membership_rows(
        conn,
        page,
        network_id=network_id,
        entity_id=entity_id,
        tier=tier,
        period=membership_period_filter(as_of, current),
    )
    return page_response(request, result)


@router.post(
    "/{network_id}/memberships", status_code=201, response_model=MembershipOut, responses=problems(404, 409, 422)
)
@SECRETARIAT_ONLY
async def create_network_membership(
    network_id: uuid.UUID,
    body: MembershipCreate,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    if body.network_id is not None and body.network_id != network_id:
        raise InvalidInput("network-mismatch", "network_id in the body differs from the network in the path; omit it.")

    return await create_once(
        session,
        request,
        principal,
        idempotency_key,
        lambda: membership_service.create_membership(
            session, network_id=network_id, data=body, actor=principal, network_from_path=True
        ),
        collection="/v1/memberships",
    )


@router.get("/{network_id}/posts", responses={**exportable(page_of(NetworkPostOut)), **problems(404, 422)})
async def list_network_posts(
    network_id: uuid.UUID,
    request: Request,
    conn: DbRead,
    page: Pagination,
    role: PostRole | None = None,
    as_of: Annotated[RegistryDate | None, Query(description="Posts running on this date (ISO 8601).")] = None,
) -> Response:
    """The network's coordinator and secretariat posts, past, current and future."""
    if not await repository.network_exists(conn, network_id):
        raise NotFound("network-not-found", f"No network has id {network_id}.")
    if (export := exporter(request)) is not None:
        query = repository.posts_query(network_id=network_id, role=role, as_of=as_of)
        return export.response(f"network-{network_id}-posts", ExportSource(query))
    result = await repository.list_post_rows(conn, page, network_id=network_id, role=role, as_of=as_of)
    return page_response(request, result)


@router.post("/{network_id}/posts", status_code=201, response_model=NetworkPostOut, responses=problems(404, 409, 422))
@Access(roles=FOCAL_POINT, owners=NETWORK_LEADS)
async def appoint_network_post(
    network_id: uuid.UUID,
    body: NetworkPostCreate,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Appoint a coordinator or a secretariat from a date (a co-lead, or with `replaces_post_id`
    a successor): the secretariat, or a focal point of one of the network's current leads."""
    return await create_once(
        session,
        request,
        principal,
        idempotency_key,
        lambda: posts.appoint_post(session, network_id=network_id, data=body, actor=principal),
        collection=f"/v1/networks/{network_id}/posts",
    )


@router.get("/{network_id}/posts/{network_post_id}", response_model=NetworkPostOut, responses=problems(404))
async def get_network_post(network_id: uuid.UUID, network_post_id: uuid.UUID, conn: DbRead) -> Response:
    row = await repository.get_post_row(conn, network_post_id)
    if row is None or row["network_id"] != network_id:
        raise NotFound("network-post-not-found", f"This network has no post {network_post_id}.")
    return record_response(row)


@router.post(
    "/{network_id}/posts/{network_post_id}/end",
    response_model=NetworkPostOut,
    responses=problems(404, 409, 412, 422),
)
@Access(roles=FOCAL_POINT, owners=NETWORK_LEADS)
async def end_network_post(
    network_id: uuid.UUID,
    network_post_id: uuid.UUID,
    body: NetworkPostEnd,
    session: DbSession,
    principal: CurrentPrincipal,
    version: OptionalIfMatch,
) -> Response:
    """End a post on its last day. The network's last coordinator (or secretariat) cannot end:
    appoint another first."""
    row = await posts.end_post(
        session,
        network_id=network_id,
        post_id=network_post_id,
        data=body,
        expected_version=version,
        actor=principal,
    )
    return record_response(row)
