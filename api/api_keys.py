import uuid
from typing import Annotated

from fastapi import Query, Request, Response

from api.deps import Authenticated, CurrentPrincipal, DbRead, DbSession, IdempotencyKeyHeader, Pagination
from api.dispatch import PathRouter
from api.export import exportable, exporter
from api.idempotency import idempotent
from api.openapi import page_of, problems
from api.path_records import API_KEY
from api.permissions import EVERYONE, SECRETARIAT_ONLY, Access
from api.planned import PlannedRoute
from api.responses import json_response, page_response, record_response
from services.api_keys import repository, service
from services.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from services.errors import NotFound
from services.export import ExportSource

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/api-keys",
    tags=["api keys"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)


@router.post("", status_code=201, response_model=ApiKeyCreated, responses=problems(403, 422))
@SECRETARIAT_ONLY
async def create_api_key(
    body: ApiKeyCreate,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Admins only. The response holds the key itself, this once; keep it safe."""

    async def act() -> Response:
        row, key = await service.create_api_key(session, data=body, actor=principal)
        body_out = {k: v for k, v in row.items() if k != "version"} | {"key": key}
        return json_response(
            body_out, status_code=201, headers={"Location": f"/v1/api-keys/{row['id']}", "Cache-Control": "no-store"}
        )

    # A replay says what was created but cannot show the key again: only its hash is kept.
    return await idempotent(session, request, principal, idempotency_key, act, never_store=("key",))


@router.get("", responses={**exportable(page_of(ApiKeyOut)), **problems(422)})
async def list_api_keys(
    request: Request,
    conn: DbRead,
    page: Pagination,
    principal: CurrentPrincipal,
    include_revoked: Annotated[bool, Query(description="Also list revoked keys.")] = False,
) -> Response:
    """Admins see every key; others their own and their entity's."""
    if (export := exporter(request)) is not None:
        query = repository.keys_query(principal, include_revoked=include_revoked)
        return export.response("api-keys", ExportSource(query))
    return page_response(
        request, await repository.list_key_rows(conn, page, principal, include_revoked=include_revoked)
    )


@router.get("/{key_id}", response_model=ApiKeyOut, responses=problems(404))
async def get_api_key(key_id: uuid.UUID, conn: DbRead, principal: CurrentPrincipal) -> Response:
    row = await repository.get_visible_key_row(conn, key_id, principal)
    if row is None:
        raise NotFound("api-key-not-found", f"No API key has id {key_id}.")
    return record_response(row)


@router.post("/{key_id}/revoke", response_model=ApiKeyOut, responses=problems(404, 409))
@Access(roles=EVERYONE, hidden=API_KEY)
async def revoke_api_key(
    key_id: uuid.UUID, request: Request, session: DbSession, principal: CurrentPrincipal
) -> Response:
    """Stops the key at once in this process and within AUTH_CACHE_SECONDS everywhere."""
    row = await service.revoke_api_key(session, key_id=key_id, actor=principal)
    request.app.state.authenticator.forget_key(key_id)
    return record_response(row)
