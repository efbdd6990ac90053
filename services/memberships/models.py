import enum
import uuid
from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base, RecordMixin
from services.entities.models import enum_column


class MembershipTier(enum.StrEnum):
    CORE = "core"
    EXTENDED = "extended"


class Membership(RecordMixin, Base):
    """One period of an entity's membership, in one tier. A tier change ends this period
    and starts another that points back at it, so the history stays."""

    __tablename__ = "memberships"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"))
    entity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entities.id", ondelete="RESTRICT"), index=True)
    tier: Mapped[MembershipTier] = mapped_column(enum_column(MembershipTier, "membership_tier"))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    end_reason: Mapped[str | None] = mapped_column(String(500))
    mandate_relevance: Mapped[str | None] = mapped_column(Text)
    capacity: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    previous_membership_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("memberships.id", ondelete="RESTRICT"),
        index=True,  # "left, or continued?" looks it up
    )
    is_demo: Mapped[bool] = mapped_column(server_default="false")

    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period_ordered"),
        CheckConstraint(
            "tier <> 'core' OR (mandate_relevance IS NOT NULL AND capacity IS NOT NULL)",
            name="core_records_relevance_and_capacity",
        ),
        # At most one open-ended membership per (network, entity); overlapping dated
        # periods are refused by the trigger the migration installs.
        Index(
            "uq_memberships_open_per_entity",
            "network_id",
            "entity_id",
            unique=True,
            postgresql_where=text("end_date IS NULL"),
        ),
        Index("ix_memberships_network_period", "network_id", "start_date", "end_date"),
        Index("ix_memberships_network_id_id", "network_id", "id"),
    )
