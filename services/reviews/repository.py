"""Queries on review policies, review cycles and recommendations."""

import functools
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, Select, bindparam, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.entities.models import Entity
from services.pagination import Page, PageRequest, fetch_page, keyset_page
from services.reviews.models import (
    Recommendation,
    RecommendationStatus,
    Review,
    ReviewPolicy,
    ReviewStatus,
)
from services.reviews.schemas import OPEN_REVIEW, RecommendationOut, ReviewOut, ReviewPolicyOut, overdue
from services.shapes import select_list

Conn = AsyncConnection | AsyncSession


# Each as the API shows it (its *Out model, in its order), and its version for the ETag.
_POLICY_COLUMNS = select_list(ReviewPolicyOut, version=ReviewPolicy.version)
_RECOMMENDATION_COLUMNS = select_list(RecommendationOut, version=Recommendation.version)
_REVIEW_COLUMNS = select_list(ReviewOut, version=Review.version)


def _select_policies() -> Select[Any]:
    return select(*_POLICY_COLUMNS).join(Entity, Entity.id == ReviewPolicy.lead_entity_id)


async def get_policy_row(conn: Conn, network_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_select_policies().where(ReviewPolicy.network_id == network_id))).mappings().first()
    return dict(row) if row is not None else None


async def get_policy_row_by_id(conn: Conn, policy_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(_select_policies().where(ReviewPolicy.id == policy_id))).mappings().first()
    return dict(row) if row is not None else None


def _select_recommendations() -> Select[Any]:
    return select(*_RECOMMENDATION_COLUMNS).join(Entity, Entity.id == Recommendation.owner_entity_id)


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


# The list's statements are built once for each combination of filters, with bound parameters
# (as the entities' are): SQLAlchemy neither rebuilds them nor computes their cache key again.
@functools.cache
def _recommendations_page(status: bool, after: bool) -> Select[Any]:
    query = _select_recommendations().where(Recommendation.review_id == bindparam("review_id"))
    if status:
        query = query.where(Recommendation.status == bindparam("status"))
    return keyset_page(query, Recommendation.id, after=after)


async def list_recommendation_rows(
    conn: Conn, review_id: uuid.UUID, page: PageRequest, status: RecommendationStatus | None = None
) -> Page:
    statement = _recommendations_page(status is not None, page.after is not None)
    return await fetch_page(conn, statement, page, review_id=review_id, status=status)


def _select_reviews() -> Select[Any]:
    return select(*_REVIEW_COLUMNS).join(Entity, Entity.id == Review.lead_entity_id)


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
        late = overdue(Review, OPEN_REVIEW)
        query = query.where(late if filters.overdue else ~late)
    if filters.due_before is not None:
        query = query.where(Review.due_date <= filters.due_before)
    return query.order_by(Review.id)


# The list's statements are built once for each combination of filters, with bound parameters
# (as the entities' are): SQLAlchemy neither rebuilds them nor computes their cache key again.
@functools.cache
def _reviews_page(filters: frozenset[str], overdue_wanted: bool | None, after: bool) -> Select[Any]:
    query = _select_reviews()
    if "network_id" in filters:
        query = query.where(Review.network_id == bindparam("network_id"))
    if "status" in filters:
        query = query.where(Review.status == bindparam("status"))
    if overdue_wanted is not None:
        late = overdue(Review, OPEN_REVIEW)
        query = query.where(late if overdue_wanted else ~late)
    if "due_before" in filters:
        query = query.where(Review.due_date <= bindparam("due_before", type_=Date))
    return keyset_page(query, Review.id, after=after)


async def list_review_rows(conn: Conn, page: PageRequest, filters: ReviewFilters) -> Page:
    values = {"network_id": filters.network_id, "status": filters.status, "due_before": filters.due_before}
    given = frozenset(name for name, value in values.items() if value is not None)
    return await fetch_page(conn, _reviews_page(given, filters.overdue, page.after is not None), page, **values)
