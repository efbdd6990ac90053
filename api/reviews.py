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
from api.path_records import RECOMMENDATION_OWNER_OR_REVIEW_LEAD, REVIEW_LEAD
from api.permissions import FOCAL_POINT, SECRETARIAT_ONLY, Access
from api.planned import PlannedRoute
from api.responses import page_response, record_response
from services.dates import RegistryDate
from services.errors import NotFound
from services.export import ExportSource
from services.reviews import repository, service
from services.reviews.models import RecommendationStatus, ReviewStatus
from services.reviews.schemas import (
    RecommendationCreate,
    RecommendationOut,
    RecommendationStatusChange,
    RecommendationUpdate,
    ReviewComplete,
    ReviewOut,
    ReviewPolicyIn,
    ReviewPolicyOut,
    ReviewStart,
)

router = PathRouter(
    route_class=PlannedRoute, prefix="/v1", tags=["reviews"], dependencies=[Authenticated], responses=problems(401, 429)
)


@router.get("/networks/{network_id}/review-policy", response_model=ReviewPolicyOut, responses=problems(404))
async def get_review_policy(network_id: uuid.UUID, conn: DbRead) -> Response:
    row = await repository.get_policy_row(conn, network_id)
    if row is None:
        raise NotFound("review-policy-not-found", f"Network {network_id} has no review policy; PUT one.")
    return record_response(row)


@router.put(
    "/networks/{network_id}/review-policy",
    response_model=ReviewPolicyOut,
    responses={201: {"description": "The policy was created."}, **problems(403, 404, 409, 412, 422)},
)
@SECRETARIAT_ONLY
async def put_review_policy(
    network_id: uuid.UUID,
    body: ReviewPolicyIn,
    session: DbSession,
    principal: CurrentPrincipal,
    version: OptionalIfMatch,
) -> Response:
    """Sets how often the network's configuration is reviewed and who leads the review
    (secretariat only). The scheduler opens each cycle `lead_time_days` before it falls due."""
    row, created = await service.put_policy(
        session, network_id=network_id, data=body, actor=principal, expected_version=version
    )
    return record_response(row, status_code=201 if created else 200)


@router.get("/reviews", responses={**exportable(page_of(ReviewOut)), **problems(422)})
async def list_reviews(
    request: Request,
    conn: DbRead,
    page: Pagination,
    network_id: uuid.UUID | None = None,
    status: ReviewStatus | None = None,
    overdue: Annotated[bool | None, Query(description="Cycles past their due date and not completed.")] = None,
    due_before: Annotated[RegistryDate | None, Query(description="Cycles due by this date.")] = None,
) -> Response:
    filters = repository.ReviewFilters(network_id, status, overdue, due_before)
    if (export := exporter(request)) is not None:
        return export.response("reviews", ExportSource(repository.reviews_query(filters)))
    return page_response(request, await repository.list_review_rows(conn, page, filters))


@router.get("/reviews/{review_id}", response_model=ReviewOut, responses=problems(404))
async def get_review(review_id: uuid.UUID, conn: DbRead) -> Response:
    """A cycle with its snapshots and findings, its recommendations counted by status, and the
    earlier cycles' recommendations still open (`carried_over`)."""
    row = await repository.get_review_row(conn, review_id)
    if row is None:
        raise NotFound("review-not-found", f"No review has id {review_id}.")
    return record_response(row)


@router.post("/reviews/{review_id}/start", response_model=ReviewOut, responses=problems(403, 404, 409, 412, 422))
@Access(roles=FOCAL_POINT, owners=REVIEW_LEAD)
async def start_review(
    review_id: uuid.UUID, body: ReviewStart, session: DbSession, principal: CurrentPrincipal, version: OptionalIfMatch
) -> Response:
    """scheduled → in_progress, with the indicators as of `started_on` as its start snapshot."""
    row = await service.start_review(session, review_id=review_id, data=body, actor=principal, expected_version=version)
    return record_response(row)


@router.post("/reviews/{review_id}/complete", response_model=ReviewOut, responses=problems(403, 404, 409, 412, 422))
@Access(roles=FOCAL_POINT, owners=REVIEW_LEAD)
async def complete_review(
    review_id: uuid.UUID,
    body: ReviewComplete,
    session: DbSession,
    principal: CurrentPrincipal,
    version: OptionalIfMatch,
) -> Response:
    """in_progress → completed: needs findings; takes the end snapshot as of `completed_on`."""
    row = await service.complete_review(
        session, review_id=review_id, data=body, actor=principal, expected_version=version
    )
    return record_response(row)


@router.get(
    "/reviews/{review_id}/recommendations",
    responses={**exportable(page_of(RecommendationOut)), **problems(404, 422)},
)
async def list_recommendations(
    review_id: uuid.UUID,
    request: Request,
    conn: DbRead,
    page: Pagination,
    status: RecommendationStatus | None = None,
) -> Response:
    if not await repository.review_exists(conn, review_id):
        raise NotFound("review-not-found", f"No review has id {review_id}.")
    if (export := exporter(request)) is not None:
        query = repository.recommendations_query(review_id, status)
        return export.response(f"review-{review_id}-recommendations", ExportSource(query))
    return page_response(request, await repository.list_recommendation_rows(conn, review_id, page, status))


@router.post(
    "/reviews/{review_id}/recommendations",
    status_code=201,
    response_model=RecommendationOut,
    responses=problems(403, 404, 409, 422),
)
@Access(roles=FOCAL_POINT, owners=REVIEW_LEAD)
async def create_recommendation(
    review_id: uuid.UUID,
    body: RecommendationCreate,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """A recommendation of a started review, owned by a current member of the network."""
    return await create_once(
        session,
        request,
        principal,
        idempotency_key,
        lambda: service.add_recommendation(session, review_id=review_id, data=body, actor=principal),
        collection=f"/v1/reviews/{review_id}/recommendations",
    )


@router.get(
    "/reviews/{review_id}/recommendations/{recommendation_id}",
    response_model=RecommendationOut,
    responses=problems(404),
)
async def get_recommendation(review_id: uuid.UUID, recommendation_id: uuid.UUID, conn: DbRead) -> Response:
    row = await repository.get_recommendation_row(conn, recommendation_id)
    if row is None or row["review_id"] != review_id:
        raise NotFound("recommendation-not-found", f"Review {review_id} has no recommendation {recommendation_id}.")
    return record_response(row)


@router.patch(
    "/reviews/{review_id}/recommendations/{recommendation_id}",
    response_model=RecommendationOut,
    responses=problems(403, 404, 409, 412, 422, 428),
)
@Access(roles=FOCAL_POINT, owners=REVIEW_LEAD)
async def update_recommendation(
    review_id: uuid.UUID,
    recommendation_id: uuid.UUID,
    body: RecommendationUpdate,
    session: DbSession,
    principal: CurrentPrincipal,
    version: RequiredIfMatch,
) -> Response:
    row = await service.update_recommendation(
        session,
        review_id=review_id,
        recommendation_id=recommendation_id,
        data=body,
        actor=principal,
        expected_version=version,
    )
    return record_response(row)


@router.post(
    "/reviews/{review_id}/recommendations/{recommendation_id}/status",
    response_model=RecommendationOut,
    responses=problems(403, 404, 409, 412, 422),
)
@Access(roles=FOCAL_POINT, owners=RECOMMENDATION_OWNER_OR_REVIEW_LEAD)
async def change_recommendation_status(
    review_id: uuid.UUID,
    recommendation_id: uuid.UUID,
    body: RecommendationStatusChange,
    session: DbSession,
    principal: CurrentPrincipal,
    version: OptionalIfMatch,
) -> Response:
    """open → in_progress → done, or dropped with a reason. The owner entity's focal point
    (or the review lead's, or the secretariat) follows it up."""
    row = await service.change_recommendation_status(
        session,
        review_id=review_id,
        recommendation_id=recommendation_id,
        data=body,
        actor=principal,
        expected_version=version,
    )
    return record_response(row)
