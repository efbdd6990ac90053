"""Queries on review policies, review cycles and recommendations."""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by, distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from services.clock import clock
from services.entities.models import Entity
from services.pagination import Page, PageRequest, page_from_rows
from services.reviews.models import (
    OPEN_RECOMMENDATION,
    Recommendation,
    RecommendationStatus,
    Review,
    ReviewPolicy,
    ReviewStatus,
)

Conn = AsyncConnection | AsyncSession


def _entity_ref(entity: Any) -> Any:
    return func.jsonb_build_object("id", entity.id, "acronym", entity.acronym, "name", entity.name)


def _select_policies() -> Select[Any]:
    return select(
        ReviewPolicy.id,
        ReviewPolicy.network_id,
        ReviewPolicy.cadence_months,
        ReviewPolicy.lead_time_days,
        ReviewPolicy.reminder_offsets_days,
        _entity_ref(Entity).label("lead_entity"),
        ReviewPolicy.first_due_date,
        ReviewPolicy.next_due_date,
        (ReviewPolicy.next_due_date - ReviewPolicy.lead_time_days).label("next_opens_on"),
        ReviewPolicy.created_at,
        ReviewPolicy.updated_at,
        ReviewPolicy.version,
    ).join(Entity, Entity.id == ReviewPolicy.lead_entity_id)


async def get_policy_row(conn: Conn, network_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_select_policies().where(ReviewPolicy.network_id == network_id))).mappings().first()
    return dict(row) if row is not None else None


async def get_policy_row_by_id(conn: Conn, policy_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_select_policies().where(ReviewPolicy.id == policy_id))).mappings().first()
    return dict(row) if row is not None else None


def _overdue(model: Any, open_statuses: Any) -> Any:
    return model.status.in_(open_statuses) & (model.due_date < clock.today())


def _select_recommendations() -> Select[Any]:
    return select(
        Recommendation.id,
        Recommendation.review_id,
        Recommendation.network_id,
        Recommendation.text,
        _entity_ref(Entity).label("owner_entity"),
        Recommendation.due_date,
        Recommendation.status,
        Recommendation.status_changed_on,
        Recommendation.dropped_reason,
        _overdue(Recommendation, OPEN_RECOMMENDATION).label("overdue"),
        Recommendation.overdue_since,
        Recommendation.created_at,
        Recommendation.updated_at,
        Recommendation.version,
    ).join(Entity, Entity.id == Recommendation.owner_entity_id)


async def get_recommendation_row(conn: Conn, recommendation_id: uuid.UUID) -> dict[str, Any] | None:
    query = _select_recommendations().where(Recommendation.id == recommendation_id)
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


def recommendations_query(review_id: uuid.UUID, status: RecommendationStatus | None = None) -> Select[Any]:
    """Recommendations matching the list's filters, in id order: the list pages it, an export streams it."""
    query = _select_recommendations().where(Recommendation.review_id == review_id)
    if status is not None:
        query = query.where(Recommendation.status == status)
    return query.order_by(Recommendation.id)


async def list_recommendation_rows(
    conn: Conn, review_id: uuid.UUID, page: PageRequest, status: RecommendationStatus | None = None
) -> Page:
    query = recommendations_query(review_id, status)
    if page.after is not None:
        query = query.where(Recommendation.id > page.after)
    result = await conn.execute(query.limit(page.limit + 1))
    return page_from_rows([dict(r) for r in result.mappings()], page.limit)


def _counts_by_status() -> Any:
    """This cycle's recommendations by status (every status, zero included)."""
    pairs: list[Any] = []
    for status in RecommendationStatus:
        pairs += [status.value, func.count().filter(Recommendation.status == status)]
    return (
        select(func.jsonb_build_object(*pairs))
        .where(Recommendation.review_id == Review.id)
        .scalar_subquery()
        .label("recommendations")
    )


def _carried_over() -> Any:
    """Open recommendations of this network's earlier cycles."""
    earlier = aliased(Review)
    owner = aliased(Entity)
    item = func.jsonb_build_object(
        "id",
        Recommendation.id,
        "review_id",
        Recommendation.review_id,
        "review_number",
        earlier.number,
        "text",
        Recommendation.text,
        "owner_entity",
        _entity_ref(owner),
        "due_date",
        Recommendation.due_date,
        "status",
        Recommendation.status,
        "overdue",
        Recommendation.due_date < clock.today(),
    )
    return (
        select(
            func.coalesce(
                func.jsonb_agg(aggregate_order_by(item, Recommendation.due_date, Recommendation.id)),
                literal_column("'[]'::jsonb"),
                type_=JSONB,
            )
        )
        .select_from(Recommendation)
        .join(earlier, earlier.id == Recommendation.review_id)
        .join(owner, owner.id == Recommendation.owner_entity_id)
        .where(
            earlier.network_id == Review.network_id,
            earlier.number < Review.number,
            Recommendation.status.in_(OPEN_RECOMMENDATION),
        )
        .scalar_subquery()
        .label("carried_over")
    )


def _select_reviews() -> Select[Any]:
    return select(
        Review.id,
        Review.network_id,
        Review.number,
        Review.period_start,
        Review.due_date,
        _entity_ref(Entity).label("lead_entity"),
        Review.status,
        _overdue(Review, (ReviewStatus.SCHEDULED, ReviewStatus.IN_PROGRESS)).label("overdue"),
        Review.overdue_since,
        Review.started_on,
        Review.start_snapshot,
        Review.completed_on,
        Review.end_snapshot,
        Review.findings,
        _counts_by_status(),
        _carried_over(),
        Review.is_demo,
        Review.created_at,
        Review.updated_at,
        Review.version,
    ).join(Entity, Entity.id == Review.lead_entity_id)


async def review_exists(conn: Conn, review_id: uuid.UUID) -> bool:
    return (await conn.scalar(select(Review.id).where(Review.id == review_id))) is not None


async def get_review_row(conn: Conn, review_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_select_reviews().where(Review.id == review_id))).mappings().first()
    return dict(row) if row is not None else None


async def get_review_rows(conn: Conn, review_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The reviews with these ids, as the API shows them, by id, in one statement."""
    if not review_ids:
        return {}
    result = await conn.execute(_select_reviews().where(Review.id.in_(set(review_ids))))
    return {row["id"]: dict(row) for row in result.mappings()}


async def get_recommendation_rows(
    conn: Conn, recommendation_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The recommendations with these ids, as the API shows them, by id, in one statement."""
    if not recommendation_ids:
        return {}
    result = await conn.execute(_select_recommendations().where(Recommendation.id.in_(set(recommendation_ids))))
    return {row["id"]: dict(row) for row in result.mappings()}


async def last_cycles(conn: Conn, network_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, tuple[int, date]]:
    """Each network's latest review cycle, (number, due date), in one statement; networks
    without one are left out."""
    if not network_ids:
        return {}
    result = await conn.execute(
        select(Review.network_id, Review.number, Review.due_date)
        .where(Review.network_id.in_(set(network_ids)))
        .order_by(Review.network_id, Review.number.desc())
        .ext(distinct_on(Review.network_id))
    )
    return {network_id: (number, due_date) for network_id, number, due_date in result}


@dataclass(frozen=True)
class ReviewFilters:
    network_id: uuid.UUID | None = None
    status: ReviewStatus | None = None
    overdue: bool | None = None
    due_before: date | None = None


def reviews_query(filters: ReviewFilters) -> Select[Any]:
    """Reviews matching the list's filters, in id order: the list pages it, an export streams it."""
    query = _select_reviews()
    if filters.network_id is not None:
        query = query.where(Review.network_id == filters.network_id)
    if filters.status is not None:
        query = query.where(Review.status == filters.status)
    if filters.overdue is not None:
        overdue = _overdue(Review, (ReviewStatus.SCHEDULED, ReviewStatus.IN_PROGRESS))
        query = query.where(overdue if filters.overdue else ~overdue)
    if filters.due_before is not None:
        query = query.where(Review.due_date <= filters.due_before)
    return query.order_by(Review.id)


async def list_review_rows(conn: Conn, page: PageRequest, filters: ReviewFilters) -> Page:
    query = reviews_query(filters)
    if page.after is not None:
        query = query.where(Review.id > page.after)
    result = await conn.execute(query.limit(page.limit + 1))
    return page_from_rows([dict(r) for r in result.mappings()], page.limit)
