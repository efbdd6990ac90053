import enum
import uuid
from datetime import date

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base, RecordMixin
from services.entities.models import enum_column
from services.ids import uuid7


class MouStatus(enum.StrEnum):
    DRAFT = "draft"
    NEGOTIATION = "negotiation"
    SIGNED = "signed"
    ACTIVE = "active"
    EXPIRED = "expired"
    TERMINATED = "terminated"
    SUPERSEDED = "superseded"


EDITABLE = (MouStatus.DRAFT, MouStatus.NEGOTIATION)
FINAL = (MouStatus.EXPIRED, MouStatus.TERMINATED, MouStatus.SUPERSEDED)


class Mou(RecordMixin, Base):
    __tablename__ = "mous"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    reference_number: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[MouStatus] = mapped_column(
        enum_column(MouStatus, "mou_status"), server_default=MouStatus.DRAFT.value
    )
    effective_date: Mapped[date | None]
    end_date: Mapped[date | None]
    review_due_date: Mapped[date | None]
    predecessor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("mous.id", ondelete="RESTRICT"))
    signed_on: Mapped[date | None]
    activated_on: Mapped[date | None]
    terminated_on: Mapped[date | None]
    termination_reason: Mapped[str | None] = mapped_column(String(1000))
    superseded_on: Mapped[date | None]
    # The review_due_date its parties were last reminded of (once per due date).
    review_reminded_for: Mapped[date | None]
    is_demo: Mapped[bool] = mapped_column(server_default="false")

    __table_args__ = (
        CheckConstraint(
            "end_date IS NULL OR effective_date IS NULL OR end_date >= effective_date", name="period_ordered"
        ),
        CheckConstraint(
            "status IN ('draft', 'terminated') OR effective_date IS NOT NULL", name="effective_date_once_submitted"
        ),
        CheckConstraint("status <> 'terminated' OR termination_reason IS NOT NULL", name="terminated_with_reason"),
        # A MoU is refreshed by one successor at a time (a terminated draft frees the place).
        Index(
            "uq_mous_one_live_successor",
            "predecessor_id",
            unique=True,
            postgresql_where=text("predecessor_id IS NOT NULL AND status <> 'terminated'"),
        ),
        Index("ix_mous_due", "status", "effective_date", "end_date"),  # signed: effective yet?
        Index("ix_mous_active_end", "end_date", postgresql_where=text("status = 'active'")),  # ended yet?
    )


class MouParty(Base):
    __tablename__ = "mou_parties"

    mou_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mous.id", ondelete="CASCADE"), primary_key=True)
    entity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("entities.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    signatory_name: Mapped[str | None] = mapped_column(String(200))
    signatory_title: Mapped[str | None] = mapped_column(String(200))
    signed_on: Mapped[date | None]

    __table_args__ = (
        CheckConstraint(
            "(signed_on IS NULL) = (signatory_name IS NULL) AND (signed_on IS NULL) = (signatory_title IS NULL)",
            name="signature_complete",
        ),
    )


class MouArea(Base):
    """An area of responsibility: one lead party, supporting parties, the objectives it covers."""

    __tablename__ = "mou_areas"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    mou_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mous.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger)
    description: Mapped[str] = mapped_column(Text)
    lead_entity_id: Mapped[uuid.UUID]

    __table_args__ = (
        # The lead is a party to this MoU.
        ForeignKeyConstraint(
            ["mou_id", "lead_entity_id"], ["mou_parties.mou_id", "mou_parties.entity_id"], ondelete="CASCADE"
        ),
        Index("uq_mou_areas_position", "mou_id", "position", unique=True),
        Index("ix_mou_areas_lead", "lead_entity_id"),
    )


class MouAreaObjective(Base):
    __tablename__ = "mou_area_objectives"

    area_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mou_areas.id", ondelete="CASCADE"), primary_key=True)
    objective_number: Mapped[int] = mapped_column(
        SmallInteger, ForeignKey("gcm_objectives.number", ondelete="RESTRICT"), primary_key=True, index=True
    )


class MouAreaSupporter(Base):
    __tablename__ = "mou_area_supporters"

    area_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mou_areas.id", ondelete="CASCADE"), primary_key=True)
    mou_id: Mapped[uuid.UUID]
    entity_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)

    __table_args__ = (
        # A supporting party is a party to this MoU.
        ForeignKeyConstraint(
            ["mou_id", "entity_id"], ["mou_parties.mou_id", "mou_parties.entity_id"], ondelete="CASCADE"
        ),
    )


class MouDocument(Base):
    __tablename__ = "mou_documents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    mou_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mous.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    uri: Mapped[str] = mapped_column(String(2000))
    title: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))

    __table_args__ = (CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),)
