import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator

from services.dates import RegistryDate
from services.entities.schemas import EntityRef
from services.reviews.models import RecommendationStatus, ReviewStatus
from services.schemas import InputModel, OutputModel

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
    id: uuid.UUID
    network_id: uuid.UUID
    cadence_months: int
    lead_time_days: int
    reminder_offsets_days: list[int]
    lead_entity: EntityRef
    first_due_date: date
    next_due_date: date = Field(description="Due date of the next cycle the scheduler will open.")
    next_opens_on: date = Field(description="When the scheduler opens that cycle (next_due_date - lead_time_days).")
    created_at: datetime
    updated_at: datetime


Findings = Annotated[str, StringConstraints(min_length=1, max_length=50000)]


class ReviewStart(InputModel):
    started_on: RegistryDate | None = Field(None, description="Default: today. Not in the future.")


class ReviewComplete(InputModel):
    findings: Findings = Field(description="What the review found; required to complete it.")
    completed_on: RegistryDate | None = Field(None, description="Default: today. Not in the future.")


class RecommendationRef(OutputModel):
    id: uuid.UUID
    review_id: uuid.UUID
    review_number: int
    text: str
    owner_entity: EntityRef
    due_date: RegistryDate
    status: RecommendationStatus
    overdue: bool


class ReviewOut(OutputModel):
    id: uuid.UUID
    network_id: uuid.UUID
    number: int
    period_start: date
    due_date: date
    lead_entity: EntityRef
    status: ReviewStatus
    overdue: bool
    overdue_since: date | None
    started_on: date | None
    start_snapshot: dict[str, Any] | None = Field(description="The indicators as of started_on.")
    completed_on: date | None
    end_snapshot: dict[str, Any] | None = Field(description="The indicators as of completed_on.")
    findings: str | None
    recommendations: dict[str, int] = Field(description="This cycle's recommendations, counted by status.")
    carried_over: list[RecommendationRef] = Field(
        description="Recommendations of earlier cycles still open or in progress: this cycle follows them up."
    )
    is_demo: bool
    created_at: datetime
    updated_at: datetime


RecommendationText = Annotated[str, StringConstraints(min_length=1, max_length=5000)]


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
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = Field(
        None, description="Why it is dropped; required for dropped only."
    )
    changed_on: RegistryDate | None = Field(None, description="Default: today.")


class RecommendationOut(OutputModel):
    id: uuid.UUID
    review_id: uuid.UUID
    network_id: uuid.UUID
    text: str
    owner_entity: EntityRef
    due_date: date
    status: RecommendationStatus
    status_changed_on: date | None
    dropped_reason: str | None
    overdue: bool
    overdue_since: date | None
    created_at: datetime
    updated_at: datetime
