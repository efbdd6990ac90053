import enum
import uuid
from datetime import date
from typing import Any

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base, RecordMixin
from services.entities.models import enum_column
from services.ids import uuid7


class WorkingGroupStatus(enum.StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    CLOSED = "closed"


class WorkingGroup(RecordMixin, Base):
    __tablename__ = "working_groups"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(300))
    slug: Mapped[str] = mapped_column(String(100))
    terms_of_reference: Mapped[str | None] = mapped_column(Text)
    # {"fr": {"name": ..., "terms_of_reference": ...}, ...}: the other official languages; the
    # fields above are the English original (services/schemas.py, translations).
    translations: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    sdg_targets: Mapped[list[str]] = mapped_column(ARRAY(String(8)), server_default="{}")
    status: Mapped[WorkingGroupStatus] = mapped_column(
        enum_column(WorkingGroupStatus, "working_group_status"), server_default=WorkingGroupStatus.PROPOSED.value
    )
    # Unset: the network's coordinator serves as the group's secretariat.
    secretariat_entity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("entities.id", ondelete="RESTRICT"))
    # The meeting that set the group up (the framing conference, say).
    established_by_meeting_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="RESTRICT", use_alter=True)
    )
    activated_on: Mapped[date | None]
    closed_on: Mapped[date | None]
    close_reason: Mapped[str | None] = mapped_column(String(1000))
    is_demo: Mapped[bool] = mapped_column(server_default="false")

    __table_args__ = (
        UniqueConstraint("network_id", "slug"),
        CheckConstraint("jsonb_typeof(translations) = 'object'", name="translations_is_object"),
        CheckConstraint(
            "status <> 'closed' OR (closed_on IS NOT NULL AND close_reason IS NOT NULL)", name="closed_with_reason"
        ),
        CheckConstraint("status <> 'active' OR activated_on IS NOT NULL", name="activated_on_set"),
        Index("ix_working_groups_network_id_id", "network_id", "id"),
    )


class WorkingGroupObjective(Base):
    __tablename__ = "working_group_objectives"

    working_group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("working_groups.id", ondelete="CASCADE"), primary_key=True
    )
    objective_number: Mapped[int] = mapped_column(
        SmallInteger, ForeignKey("gcm_objectives.number", ondelete="RESTRICT"), primary_key=True, index=True
    )


class WorkingGroupPrinciple(Base):
    __tablename__ = "working_group_principles"

    working_group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("working_groups.id", ondelete="CASCADE"), primary_key=True
    )
    principle_code: Mapped[str] = mapped_column(
        String(40), ForeignKey("guiding_principles.code", ondelete="RESTRICT"), primary_key=True
    )


class PostKind(enum.StrEnum):
    CHAIR = "chair"
    MEMBER = "member"


class WorkingGroupPost(Base):
    """A dated post in a working group: a chair (co-chairs are several at once) or a seat."""

    __tablename__ = "working_group_posts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    working_group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("working_groups.id", ondelete="RESTRICT"))
    kind: Mapped[PostKind] = mapped_column(enum_column(PostKind, "working_group_post_kind"))
    entity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entities.id", ondelete="RESTRICT"), index=True)
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    end_reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period_ordered"),
        Index("ix_working_group_posts_group", "working_group_id", "kind", "id"),
        Index(
            "uq_working_group_posts_open",
            "working_group_id",
            "kind",
            "entity_id",
            unique=True,
            postgresql_where=text("end_date IS NULL"),
        ),
    )
