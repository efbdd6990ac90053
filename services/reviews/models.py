"""Effectiveness reviews (docs/DOMAIN.md): a review policy per network, the review cycles the
scheduler creates from it, and the recommendations each cycle makes."""

import enum
import uuid
from datetime import date
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base, RecordMixin
from services.entities.models import enum_column


class ReviewPolicy(RecordMixin, Base):
    """How often a network's configuration is reviewed, and who leads the review.

    Cycle *n* falls due ``cadence_months`` after cycle *n - 1*, the first on
    ``first_due_date``; each is opened ``lead_time_days`` before its due date.
    ``next_due_date`` is the due date of the next cycle the scheduler has yet to open."""

    __tablename__ = "review_policies"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"), unique=True)
    cadence_months: Mapped[int] = mapped_column(SmallInteger, server_default="12")
    lead_time_days: Mapped[int] = mapped_column(SmallInteger, server_default="90")
    reminder_offsets_days: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), server_default="{30,7}")
    lead_entity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entities.id", ondelete="RESTRICT"), index=True)
    first_due_date: Mapped[date]
    next_due_date: Mapped[date]

    __table_args__ = (
        CheckConstraint("cadence_months BETWEEN 1 AND 60", name="cadence_in_range"),
        CheckConstraint("lead_time_days BETWEEN 0 AND 365", name="lead_time_in_range"),
        CheckConstraint("next_due_date >= first_due_date", name="next_after_first"),
    )


class ReviewStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class Review(RecordMixin, Base):
    """One review cycle. ``overdue_since`` is set when its due date passes unfinished."""

    __tablename__ = "reviews"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"))
    number: Mapped[int] = mapped_column(SmallInteger)
    period_start: Mapped[date]
    due_date: Mapped[date]
    lead_entity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entities.id", ondelete="RESTRICT"), index=True)
    status: Mapped[ReviewStatus] = mapped_column(
        enum_column(ReviewStatus, "review_status"), server_default=ReviewStatus.SCHEDULED.value
    )
    started_on: Mapped[date | None]
    start_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    completed_on: Mapped[date | None]
    end_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    findings: Mapped[str | None] = mapped_column(Text)
    overdue_since: Mapped[date | None]
    is_demo: Mapped[bool] = mapped_column(server_default="false")

    __table_args__ = (
        # One cycle per due date: the scheduler's exactly-once backstop.
        Index("uq_reviews_network_due", "network_id", "due_date", unique=True),
        Index("uq_reviews_network_number", "network_id", "number", unique=True),
        CheckConstraint("due_date > period_start", name="period_ordered"),
        CheckConstraint(
            "(status = 'scheduled') = (started_on IS NULL) AND (started_on IS NULL) = (start_snapshot IS NULL)",
            name="started_with_snapshot",
        ),
        CheckConstraint(
            "(status = 'completed') = (completed_on IS NOT NULL)"
            " AND (completed_on IS NULL) = (end_snapshot IS NULL)"
            " AND (completed_on IS NULL) = (findings IS NULL)",
            name="completed_with_snapshot_and_findings",
        ),
        Index("ix_reviews_open_due", "due_date", postgresql_where=sql_text("status <> 'completed'")),
    )


class RecommendationStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


OPEN_RECOMMENDATION = (RecommendationStatus.OPEN, RecommendationStatus.IN_PROGRESS)
NEXT_STATUS = {
    RecommendationStatus.OPEN: frozenset(
        {RecommendationStatus.IN_PROGRESS, RecommendationStatus.DONE, RecommendationStatus.DROPPED}
    ),
    RecommendationStatus.IN_PROGRESS: frozenset({RecommendationStatus.DONE, RecommendationStatus.DROPPED}),
    RecommendationStatus.DONE: frozenset[RecommendationStatus](),
    RecommendationStatus.DROPPED: frozenset[RecommendationStatus](),
}


class Recommendation(RecordMixin, Base):
    __tablename__ = "review_recommendations"

    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reviews.id", ondelete="RESTRICT"), index=True)
    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"), index=True)
    text: Mapped[str] = mapped_column(Text)
    owner_entity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entities.id", ondelete="RESTRICT"), index=True)
    due_date: Mapped[date]
    status: Mapped[RecommendationStatus] = mapped_column(
        enum_column(RecommendationStatus, "recommendation_status"), server_default=RecommendationStatus.OPEN.value
    )
    status_changed_on: Mapped[date | None]
    dropped_reason: Mapped[str | None] = mapped_column(String(2000))
    overdue_since: Mapped[date | None]

    __table_args__ = (
        CheckConstraint("(status = 'dropped') = (dropped_reason IS NOT NULL)", name="dropped_with_reason"),
        Index(
            "ix_review_recommendations_open_due",
            "due_date",
            postgresql_where=sql_text("status IN ('open', 'in_progress')"),
        ),
    )


class ReviewReminder(Base):
    """A reminder sent for a review or a recommendation, ``offset_days`` before ``due_date``.
    The key makes each one go out once; a new due date gets its own reminders."""

    __tablename__ = "review_reminders"

    subject_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    due_date: Mapped[date] = mapped_column(primary_key=True)
    offset_days: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
