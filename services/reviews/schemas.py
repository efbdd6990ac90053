import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator
from sqlalchemy import Date, bindparam, func, select
from sqlalchemy.orm import aliased

from services.clock import clock
from services.dates import RegistryDate
from services.entities.models import Entity
from services.entities.schemas import EntityRef
from services.reviews.models import (
    OPEN_RECOMMENDATION,
    Recommendation,
    RecommendationStatus,
    Review,
    ReviewPolicy,
    ReviewStatus,
)
from services.schemas import MULTI_LINE, InputModel, OutputModel
from services.shapes import From, json_array, json_object

# A review is open, and may fall overdue, until it is completed.
OPEN_REVIEW = (ReviewStatus.SCHEDULED, ReviewStatus.IN_PROGRESS)

Offsets = Annotated[int, Field(ge=1, le=365)]


class ReviewPolicyIn(InputModel):
    """The whole policy (PUT replaces it)."""

    read_only = frozenset({"network_id", "next_due_date"})

    cadence_months: int = Field(12, ge=1, le=60, description="Months between one cycle's due date and the next.")
    lead_time_days: int = Field(
        90, ge=0, le=365, description="How many days before its due date a cycle is opened (scheduled)."
    )
    reminder_offsets_days: list[Offsets] = Field(
        [30, 7],
        max_length=10,
        description="Days before a due date (a cycle's or a recommendation's) on which its owner is reminded.",
    )
    lead_entity_id: uuid.UUID = Field(description="The member entity that leads the review.")
    first_due_date: RegistryDate = Field(
        description="The due date of the first cycle; later cycles follow every cadence_months. "
        "Changing it on an existing policy is refused once cycles exist."
    )

    @field_validator("reminder_offsets_days")
    @classmethod
    def _distinct(cls, offsets: list[int]) -> list[int]:
        if len(set(offsets)) != len(offsets):
            raise ValueError("list each offset once")
        return sorted(offsets, reverse=True)


class ReviewPolicyOut(OutputModel):
    id: Annotated[uuid.UUID, From(ReviewPolicy.id)]
    network_id: Annotated[uuid.UUID, From(ReviewPolicy.network_id)]
    cadence_months: Annotated[int, From(ReviewPolicy.cadence_months)]
    lead_time_days: Annotated[int, From(ReviewPolicy.lead_time_days)]
    reminder_offsets_days: Annotated[list[int], From(ReviewPolicy.reminder_offsets_days)]
    lead_entity: Annotated[EntityRef, From(json_object(EntityRef, Entity))]  # joined on lead_entity_id
    first_due_date: Annotated[date, From(ReviewPolicy.first_due_date)]
    next_due_date: Annotated[date, From(ReviewPolicy.next_due_date)] = Field(
        description="Due date of the next cycle the scheduler will open."
    )
    next_opens_on: Annotated[date, From(ReviewPolicy.next_due_date - ReviewPolicy.lead_time_days)] = Field(
        description="When the scheduler opens that cycle (next_due_date - lead_time_days)."
    )
    created_at: Annotated[datetime, From(ReviewPolicy.created_at)]
    updated_at: Annotated[datetime, From(ReviewPolicy.updated_at)]


Findings = Annotated[str, StringConstraints(min_length=1, max_length=50000), MULTI_LINE]


class ReviewStart(InputModel):
    started_on: RegistryDate | None = Field(None, description="Default: today. Not in the future.")


class ReviewComplete(InputModel):
    findings: Findings = Field(description="What the review found; required to complete it.")
    completed_on: RegistryDate | None = Field(None, description="Default: today. Not in the future.")


def sql_today() -> Any:
    """The clock's today, read each time the statement runs (select lists are built once)."""
    return bindparam("today", callable_=clock.today, type_=Date, unique=True)


def overdue(model: Any, open_statuses: Any) -> Any:
    """The condition "still open and past its due date" on a review or a recommendation."""
    return model.status.in_(open_statuses) & (model.due_date < sql_today())


_Earlier = aliased(Review)
_Owner = aliased(Entity)


# An open recommendation of an earlier cycle, read with _Earlier (its review) and _Owner.
class RecommendationRef(OutputModel):
    id: Annotated[uuid.UUID, From(Recommendation.id)]
    review_id: Annotated[uuid.UUID, From(Recommendation.review_id)]
    review_number: Annotated[int, From(_Earlier.number)]
    text: Annotated[str, From(Recommendation.text)]
    owner_entity: Annotated[EntityRef, From(json_object(EntityRef, _Owner))]
    due_date: Annotated[RegistryDate, From(Recommendation.due_date)]
    status: Annotated[RecommendationStatus, From(Recommendation.status)]
    overdue: Annotated[bool, From(Recommendation.due_date < sql_today())]


# This cycle's recommendations by status (every status, zero included).
_COUNTS_BY_STATUS = (
    select(
        func.jsonb_build_object(
            *(
                part
                for status in RecommendationStatus
                for part in (status.value, func.count().filter(Recommendation.status == status))
            )
        )
    )
    .where(Recommendation.review_id == Review.id)
    .scalar_subquery()
)
# Open recommendations of this network's earlier cycles, by due date.
_CARRIED_OVER = (
    select(json_array(json_object(RecommendationRef), Recommendation.due_date, Recommendation.id))
    .select_from(Recommendation)
    .join(_Earlier, _Earlier.id == Recommendation.review_id)
    .join(_Owner, _Owner.id == Recommendation.owner_entity_id)
    .where(
        _Earlier.network_id == Review.network_id,
        _Earlier.number < Review.number,
        Recommendation.status.in_(OPEN_RECOMMENDATION),
    )
    .scalar_subquery()
)


class ReviewOut(OutputModel):
    id: Annotated[uuid.UUID, From(Review.id)]
    network_id: Annotated[uuid.UUID, From(Review.network_id)]
    number: Annotated[int, From(Review.number)]
    period_start: Annotated[date, From(Review.period_start)]
    due_date: Annotated[date, From(Review.due_date)]
    lead_entity: Annotated[EntityRef, From(json_object(EntityRef, Entity))]  # joined on lead_entity_id
    status: Annotated[ReviewStatus, From(Review.status)]
    overdue: Annotated[bool, From(overdue(Review, OPEN_REVIEW))]
    overdue_since: Annotated[date | None, From(Review.overdue_since)]
    started_on: Annotated[date | None, From(Review.started_on)]
    start_snapshot: Annotated[dict[str, Any] | None, From(Review.start_snapshot)] = Field(
        description="The indicators as of started_on."
    )
    completed_on: Annotated[date | None, From(Review.completed_on)]
    end_snapshot: Annotated[dict[str, Any] | None, From(Review.end_snapshot)] = Field(
        description="The indicators as of completed_on."
    )
    findings: Annotated[str | None, From(Review.findings)]
    recommendations: Annotated[dict[str, int], From(_COUNTS_BY_STATUS)] = Field(
        description="This cycle's recommendations, counted by status."
    )
    carried_over: Annotated[list[RecommendationRef], From(_CARRIED_OVER)] = Field(
        description="Recommendations of earlier cycles still open or in progress: this cycle follows them up."
    )
    is_demo: Annotated[bool, From(Review.is_demo)]
    created_at: Annotated[datetime, From(Review.created_at)]
    updated_at: Annotated[datetime, From(Review.updated_at)]


RecommendationText = Annotated[str, StringConstraints(min_length=1, max_length=5000), MULTI_LINE]


class RecommendationCreate(InputModel):
    read_only = frozenset({"review_id", "network_id", "dropped_reason", "overdue_since", "status_changed_on"})

    text: RecommendationText
    owner_entity_id: uuid.UUID = Field(description="The member entity that carries it out.")
    due_date: RegistryDate


class RecommendationUpdate(InputModel):
    read_only = frozenset({"review_id", "network_id", "dropped_reason", "overdue_since", "status_changed_on"})
    changed_by_action = {"status": "POST .../recommendations/{id}/status changes it."}

    text: RecommendationText | None = None
    owner_entity_id: uuid.UUID | None = None
    due_date: RegistryDate | None = None


class RecommendationStatusChange(InputModel):
    status: RecommendationStatus = Field(description="in_progress, done, or dropped (with a reason).")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000), MULTI_LINE] | None = Field(
        None, description="Why it is dropped; required for dropped only."
    )
    changed_on: RegistryDate | None = Field(None, description="Default: today.")


class RecommendationOut(OutputModel):
    id: Annotated[uuid.UUID, From(Recommendation.id)]
    review_id: Annotated[uuid.UUID, From(Recommendation.review_id)]
    network_id: Annotated[uuid.UUID, From(Recommendation.network_id)]
    text: Annotated[str, From(Recommendation.text)]
    owner_entity: Annotated[EntityRef, From(json_object(EntityRef, Entity))]  # joined on owner_entity_id
    due_date: Annotated[date, From(Recommendation.due_date)]
    status: Annotated[RecommendationStatus, From(Recommendation.status)]
    status_changed_on: Annotated[date | None, From(Recommendation.status_changed_on)]
    dropped_reason: Annotated[str | None, From(Recommendation.dropped_reason)]
    overdue: Annotated[bool, From(overdue(Recommendation, OPEN_RECOMMENDATION))]
    overdue_since: Annotated[date | None, From(Recommendation.overdue_since)]
    created_at: Annotated[datetime, From(Recommendation.created_at)]
    updated_at: Annotated[datetime, From(Recommendation.updated_at)]
