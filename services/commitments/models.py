"""Champion countries of a network, and pledges with their follow-up."""

import enum
import uuid
from datetime import date

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base, RecordMixin
from services.entities.models import enum_column


class ChampionCountry(RecordMixin, Base):
    """A member state that volunteered as a champion of the network, from ``start_date``
    until ``end_date`` (open: still one)."""

    __tablename__ = "champion_countries"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"))
    country_code: Mapped[str] = mapped_column(String(2))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    is_demo: Mapped[bool] = mapped_column(server_default="false")

    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period_ordered"),
        Index("ix_champion_countries_network_country", "network_id", "country_code", "start_date"),
    )


class PledgeStatus(enum.StrEnum):
    ANNOUNCED = "announced"
    IN_PROGRESS = "in_progress"
    FULFILLED = "fulfilled"
    WITHDRAWN = "withdrawn"


class Pledge(RecordMixin, Base):
    """A pledge by a member state (``pledger_country_code``) or another stakeholder
    (``pledger_entity_id``), exactly one of the two. ``reminded_offsets``: the offsets (days
    before the due date) already reminded of, for ``reminded_for`` due date;
    ``overdue_reported_for``: the due date ``pledge.overdue`` was raised for."""

    __tablename__ = "pledges"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"))
    pledger_country_code: Mapped[str | None] = mapped_column(String(2))
    pledger_entity_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("entities.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    gcm_objectives: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), server_default="{}")
    due_date: Mapped[date]
    status: Mapped[PledgeStatus] = mapped_column(
        enum_column(PledgeStatus, "pledge_status"), server_default=PledgeStatus.ANNOUNCED.value
    )
    status_changed_on: Mapped[date]
    reminded_for: Mapped[date | None]
    reminded_offsets: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), server_default="{}")
    overdue_reported_for: Mapped[date | None]
    is_demo: Mapped[bool] = mapped_column(server_default="false")

    __table_args__ = (
        CheckConstraint("num_nonnulls(pledger_country_code, pledger_entity_id) = 1", name="one_pledger"),
        CheckConstraint(
            "gcm_objectives <@ '{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23}'::smallint[]",
            name="objectives_known",
        ),
        Index("ix_pledges_network_id_id", "network_id", "id"),
        Index("ix_pledges_open_due", "due_date", postgresql_where=text("status IN ('announced', 'in_progress')")),
    )
