import uuid

from fastapi import Request, Response

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
from api.documents import ReplayOut
from api.export import exportable, exporter
from api.idempotency import idempotent
from api.openapi import page_of, problems
from api.path_records import WEBHOOK_ENDPOINT
from api.permissions import EVERYONE, INTEGRATOR, Access
from api.planned import PlannedRoute
from api.responses import json_response, page_response, record_response
from services.delivery.replay import replay_webhooks
from services.delivery_status import DeliveryStatus
from services.errors import NotFound
from services.export import ExportSource
from services.webhooks import repository, service
from services.webhooks.schemas import (
    DeliveryOut,
    EndpointCreate,
    EndpointOut,
    EndpointUpdate,
    EndpointWithSecret,
    ReplayFailed,
)

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/webhook-endpoints",
    tags=["webhooks"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)


def _with_secret(row: dict[str, object], secret: str, status_code: int) -> Response:
    body = {k: v for k, v in row.items() if k != "version"} | {"secret": secret}
    return json_response(
        body,
        status_code=status_code,
        headers={"Location": f"/v1/webhook-endpoints/{row['id']}", "Cache-Control": "no-store"},
    )


@router.post("", status_code=201, response_model=EndpointWithSecret, responses=problems(403, 422))
@Access(roles=INTEGRATOR)
async def create_endpoint(
    body: EndpointCreate,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Integrators and admins. The response carries the signing secret, this once."""

    async def act() -> Response:
        row, secret = await service.create_endpoint(session, data=body, actor=principal)
        return _with_secret(row, secret, 201)

    return await idempotent(session, request, principal, idempotency_key, act, never_store=("secret",))


@router.get("", responses={**exportable(page_of(EndpointOut)), **problems(422)})
async def list_endpoints(request: Request, conn: DbRead, page: Pagination, principal: CurrentPrincipal) -> Response:
    """Admins see every endpoint; others their own and their entity's."""
    if (export := exporter(request)) is not None:
        return export.response("webhook-endpoints", ExportSource(repository.endpoints_query(principal)))
    return page_response(request, await repository.list_endpoint_rows(conn, page, principal))


async def _visible(conn: DbRead, endpoint_id: uuid.UUID, principal: CurrentPrincipal) -> dict[str, object]:
    row = await repository.get_visible_endpoint_row(conn, endpoint_id, principal)
    if row is None:
        raise NotFound("webhook-endpoint-not-found", f"No webhook endpoint has id {endpoint_id}.")
    return row


@router.get("/{endpoint_id}", response_model=EndpointOut, responses=problems(404))
async def get_endpoint(endpoint_id: uuid.UUID, conn: DbRead, principal: CurrentPrincipal) -> Response:
    return record_response(await _visible(conn, endpoint_id, principal))


@router.patch("/{endpoint_id}", response_model=EndpointOut, responses=problems(404, 412, 422, 428))
@Access(roles=EVERYONE, hidden=WEBHOOK_ENDPOINT)
async def update_endpoint(
    endpoint_id: uuid.UUID,
    body: EndpointUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    version: RequiredIfMatch,
) -> Response:
    """Change the URL, the event types, or enable a disabled endpoint again."""
    row = await service.update_endpoint(
        session, endpoint_id=endpoint_id, data=body, expected_version=version, actor=principal
    )
    return record_response(row)


@router.delete("/{endpoint_id}", status_code=204, responses=problems(404))
@Access(roles=EVERYONE, hidden=WEBHOOK_ENDPOINT)
async def delete_endpoint(endpoint_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal) -> Response:
    await service.delete_endpoint(session, endpoint_id=endpoint_id, actor=principal)
    return Response(status_code=204)


@router.post("/{endpoint_id}/rotate-secret", response_model=EndpointWithSecret, responses=problems(404))
@Access(roles=EVERYONE, hidden=WEBHOOK_ENDPOINT)
async def rotate_secret(endpoint_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal) -> Response:
    """A new secret, shown this once; deliveries carry a second signature with the old one for 24 hours."""
    row, secret = await service.rotate_secret(session, endpoint_id=endpoint_id, actor=principal)
    return _with_secret(row, secret, 200)


@router.get("/{endpoint_id}/deliveries", responses={**exportable(page_of(DeliveryOut)), **problems(404, 422)})
async def list_deliveries(
    endpoint_id: uuid.UUID,
    request: Request,
    conn: DbRead,
    page: Pagination,
    principal: CurrentPrincipal,
    status: DeliveryStatus | None = None,
) -> Response:
    """The delivery log: each delivery's `webhook-id`, state and every attempt (status code, latency, error)."""
    await _visible(conn, endpoint_id, principal)
    if (export := exporter(request)) is not None:
        query = repository.deliveries_query(endpoint_id=endpoint_id, status=status)
        columns = ("id", "webhook_id", *(c for c in ExportSource(query).column_names() if c != "id"))
        source = ExportSource(query, repository.with_webhook_id, columns)
        return export.response(f"webhook-endpoint-{endpoint_id}-deliveries", source)
    return page_response(
        request, await repository.list_delivery_rows(conn, page, endpoint_id=endpoint_id, status=status)
    )


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    responses={202: {"description": "Queued again.", "model": ReplayOut}, **problems(404, 409)},
)
@Access(roles=EVERYONE, hidden=WEBHOOK_ENDPOINT)
async def replay_delivery(
    endpoint_id: uuid.UUID, delivery_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> Response:
    """Send one delivery again, under the same `webhook-id`."""
    replayed = await replay_webhooks(session, endpoint_id=endpoint_id, delivery_id=delivery_id, actor=principal)
    return json_response({"replayed": replayed}, status_code=202)


@router.post(
    "/{endpoint_id}/replay",
    status_code=202,
    responses={202: {"description": "Queued again.", "model": ReplayOut}, **problems(404, 409, 422)},
)
@Access(roles=EVERYONE, hidden=WEBHOOK_ENDPOINT)
async def replay_failed(
    endpoint_id: uuid.UUID, body: ReplayFailed, session: DbSession, principal: CurrentPrincipal
) -> Response:
    """Send again every failed delivery created since a time."""
    replayed = await replay_webhooks(session, endpoint_id=endpoint_id, failed_since=body.since, actor=principal)
    return json_response({"replayed": replayed}, status_code=202)
