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
from api.idempotency import create_once, idempotent
from api.openapi import in_language, page_of, problems
from api.path_records import GROUP_CHAIRS, GROUP_CHAIRS_OR_SEAT_HOLDER
from api.permissions import FOCAL_POINT, SECRETARIAT_ONLY, Access
from api.planned import PlannedRoute
from api.responses import json_response, localized_record_response, page_response, record_response
from services.clock import clock
from services.dates import RegistryDate
from services.errors import NotFound
from services.export import ExportSource
from services.working_groups import repository, service
from services.working_groups.models import PostKind, WorkingGroupStatus
from services.working_groups.schemas import (
    TRANSLATED_FIELDS,
    PostCreate,
    PostEnd,
    PostOut,
    WorkingGroupActivate,
    WorkingGroupClose,
    WorkingGroupCreate,
    WorkingGroupOut,
    WorkingGroupUpdate,
)

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/working-groups",
    tags=["working groups"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)


@router.post("", status_code=201, response_model=WorkingGroupOut, responses=problems(403, 409, 422))
@SECRETARIAT_ONLY
async def create_working_group(
    body: WorkingGroupCreate,
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
        lambda: service.create_working_group(session, data=body, actor=principal),
        collection="/v1/working-groups",
    )


@router.get("", responses={**in_language(exportable(page_of(WorkingGroupOut))), **problems(422)})
async def list_working_groups(
    request: Request,
    conn: DbRead,
    page: Pagination,
    network_id: uuid.UUID | None = None,
    status: WorkingGroupStatus | None = None,
    objective: Annotated[int | None, Query(ge=1, le=23, description="Groups working on this GCM objective.")] = None,
    chair_entity_id: Annotated[uuid.UUID | None, Query(description="Groups this entity currently chairs.")] = None,
    member_entity_id: Annotated[uuid.UUID | None, Query(description="Groups this entity currently sits in.")] = None,
) -> Response:
    filters = repository.GroupFilters(network_id, status, objective, chair_entity_id, member_entity_id)
    if (export := exporter(request)) is not None:
        return export.response("working-groups", ExportSource(repository.groups_query(filters, today=clock.today())))
    rows = await repository.list_group_rows(conn, page, filters, today=clock.today())
    return page_response(request, rows, translated=TRANSLATED_FIELDS)


@router.get("/{group_id}", response_model=WorkingGroupOut, responses=in_language(problems(404)))
async def get_working_group(group_id: uuid.UUID, request: Request, conn: DbRead) -> Response:
    """In the language `Accept-Language` prefers, field by field, English where the group's
    `translations` lack one (`Content-Language` names the languages of the answer)."""
    row = await repository.get_group_row(conn, group_id, today=clock.today())
    if row is None:
        raise NotFound("working-group-not-found", f"No working group has id {group_id}.")
    return localized_record_response(request, row, TRANSLATED_FIELDS)


@router.patch("/{group_id}", response_model=WorkingGroupOut, responses=problems(403, 404, 409, 412, 422, 428))
@SECRETARIAT_ONLY
async def update_working_group(
    group_id: uuid.UUID,
    body: WorkingGroupUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    version: RequiredIfMatch,
) -> Response:
    row = await service.update_working_group(
        session, group_id=group_id, data=body, expected_version=version, actor=principal
    )
    return record_response(row)


@router.post("/{group_id}/activate", response_model=WorkingGroupOut, responses=problems(403, 404, 409, 412, 422))
@SECRETARIAT_ONLY
async def activate_working_group(
    group_id: uuid.UUID,
    body: WorkingGroupActivate,
    session: DbSession,
    principal: CurrentPrincipal,
    version: OptionalIfMatch,
) -> Response:
    """proposed → active. 409 unless a chair holds the post on the activation date."""
    row = await service.activate_working_group(
        session, group_id=group_id, data=body, expected_version=version, actor=principal
    )
    return record_response(row)


@router.post("/{group_id}/close", response_model=WorkingGroupOut, responses=problems(403, 404, 409, 412, 422))
@SECRETARIAT_ONLY
async def close_working_group(
    group_id: uuid.UUID,
    body: WorkingGroupClose,
    session: DbSession,
    principal: CurrentPrincipal,
    version: OptionalIfMatch,
) -> Response:
    """Closes the group with a reason; open chair posts and seats end on the closing date."""
    row = await service.close_working_group(
        session, group_id=group_id, data=body, expected_version=version, actor=principal
    )
    return record_response(row)


def _post_routes(kind: PostKind, collection: str, *, add: Access, end: Access) -> None:
    """The same four routes for chairs and for member seats; ``add`` and ``end`` declare who
    may give and end a post."""
    noun = "chair post" if kind == PostKind.CHAIR else "seat"

    async def list_posts(
        group_id: uuid.UUID,
        request: Request,
        conn: DbRead,
        page: Pagination,
        as_of: Annotated[RegistryDate | None, Query(description="Posts held on this date.")] = None,
        current: Annotated[bool | None, Query(description="true: posts held today.")] = None,
    ) -> Response:
        if not await repository.group_exists(conn, group_id):
            raise NotFound("working-group-not-found", f"No working group has id {group_id}.")
        day = as_of or (clock.today() if current else None)
        if (export := exporter(request)) is not None:
            query = repository.posts_query(group_id=group_id, kind=kind, as_of=day)
            return export.response(f"working-group-{group_id}-{collection}", ExportSource(query))
        return page_response(
            request, await repository.list_post_rows(conn, page, group_id=group_id, kind=kind, as_of=day)
        )

    @add
    async def add_post(
        group_id: uuid.UUID,
        body: PostCreate,
        request: Request,
        session: DbSession,
        principal: CurrentPrincipal,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response:
        async def act() -> Response:
            row = await service.add_post(session, group_id=group_id, kind=kind, data=body, actor=principal)
            return json_response(
                row, status_code=201, headers={"Location": f"/v1/working-groups/{group_id}/{collection}/{row['id']}"}
            )

        return await idempotent(session, request, principal, idempotency_key, act)

    async def get_post(group_id: uuid.UUID, post_id: uuid.UUID, conn: DbRead) -> Response:
        row = await repository.get_post_row(conn, post_id)
        if row is None or row["working_group_id"] != group_id or row["kind"] != kind:
            raise NotFound("post-not-found", f"This working group has no {noun} {post_id}.")
        return json_response(row)

    @end
    async def end_post(
        group_id: uuid.UUID, post_id: uuid.UUID, body: PostEnd, session: DbSession, principal: CurrentPrincipal
    ) -> Response:
        row = await service.end_post(session, group_id=group_id, post_id=post_id, kind=kind, data=body, actor=principal)
        return json_response(row)

    base = f"/{{group_id}}/{collection}"
    router.add_api_route(
        base,
        list_posts,
        methods=["GET"],
        name=f"list_{collection}",
        responses={**exportable(page_of(PostOut)), **problems(404, 422)},
    )
    router.add_api_route(
        base,
        add_post,
        methods=["POST"],
        status_code=201,
        name=f"add_{collection}",
        response_model=PostOut,
        responses=problems(403, 404, 409, 422),
    )
    router.add_api_route(
        f"{base}/{{post_id}}",
        get_post,
        methods=["GET"],
        name=f"get_{collection}",
        response_model=PostOut,
        responses=problems(404),
    )
    router.add_api_route(
        f"{base}/{{post_id}}/end",
        end_post,
        methods=["POST"],
        name=f"end_{collection}",
        response_model=PostOut,
        responses=problems(403, 404, 409, 422),
    )


_post_routes(PostKind.CHAIR, "chairs", add=SECRETARIAT_ONLY, end=SECRETARIAT_ONLY)
_post_routes(
    PostKind.MEMBER,
    "members",
    add=Access(roles=FOCAL_POINT, owners=GROUP_CHAIRS),
    end=Access(roles=FOCAL_POINT, owners=GROUP_CHAIRS_OR_SEAT_HOLDER),
)
