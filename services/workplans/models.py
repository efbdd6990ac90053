"""A network's workplan for a period, its activities, their leads, status history and outputs."""

import enum
import uuid
from datetime import date

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base, RecordMixin
from services.entities.models import enum_column
from services.ids import uuid7


class Workplan(RecordMixin, Base):
    __tablename__ = "workplans"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(300))
    start_date: Mapped[date]
    end_date: Mapped[date]
    is_demo: Mapped[bool] = mapped_column(server_default="false")

    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="period_ordered"),
        Index("ix_workplans_network_id_id", "network_id", "id"),
    )


class ActivityStatus(enum.StrEnum):
    YET_TO_START = "yet_to_start"
    ONGOING = "ongoing"
    COMPLETED = "completed"


class Activity(RecordMixin, Base):
    """An activity of a workplan. ``status_changed_on`` is the day its current status began;
    the history is in ``activity_status_changes``. ``overdue_reported_for``: the end date
    for which ``activity.overdue`` was raised (once per end date)."""

    __tablename__ = "workplan_activities"

    workplan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workplans.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(300))
    working_group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("working_groups.id", ondelete="RESTRICT"), index=True
    )
    workstream: Mapped[str | None] = mapped_column(String(300))
    gcm_objectives: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), server_default="{}")
    guiding_principles: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default="{}")
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    status: Mapped[ActivityStatus] = mapped_column(
        enum_column(ActivityStatus, "activity_status"), server_default=ActivityStatus.YET_TO_START.value
    )
    status_changed_on: Mapped[date]
    overdue_reported_for: Mapped[date | None]

    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period_ordered"),
        CheckConstraint("status <> 'completed' OR end_date IS NOT NULL", name="completed_has_end"),
        CheckConstraint(
            "gcm_objectives <@ '{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23}'::smallint[]",
            name="objectives_known",
        ),
        Index("ix_workplan_activities_workplan_id_id", "workplan_id", "id"),
        Index("ix_workplan_activities_open_end", "end_date", postgresql_where=text("status <> 'completed'")),
    )


class ActivityLead(Base):
    __tablename__ = "workplan_activity_leads"

    activity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workplan_activities.id", ondelete="CASCADE"), primary_key=True
    )
    entity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("entities.id", ondelete="RESTRICT"), primary_key=True, index=True
    )


class ActivityStatusChange(Base):
    __tablename__ = "workplan_activity_status_changes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workplan_activities.id", ondelete="CASCADE"))
    status: Mapped[ActivityStatus] = mapped_column(enum_column(ActivityStatus, "activity_status"))
    changed_on: Mapped[date]

    __table_args__ = (Index("ix_workplan_activity_status_changes_activity", "activity_id", "changed_on", "id"),)


class ActivityOutput(Base):
    __tablename__ = "workplan_activity_outputs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workplan_activities.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    link: Mapped[str] = mapped_column(String(2000))
    published_on: Mapped[date]

    __table_args__ = (Index("ix_workplan_activity_outputs_activity", "activity_id", "published_on", "id"),)
