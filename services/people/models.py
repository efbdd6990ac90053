import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base, RecordMixin

# The six official languages of the United Nations, as ISO 639-1 codes.
LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")


class Person(RecordMixin, Base):
    """A person working for an entity: who its focal points are. Erasure (``erased_at``)
    clears the name and the e-mail address; the row, its id and its posts stay."""

    __tablename__ = "people"

    entity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entities.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    preferred_language: Mapped[str] = mapped_column(String(2), server_default="en")
    erased_at: Mapped[datetime | None]
    is_demo: Mapped[bool] = mapped_column(server_default="false")

    __table_args__ = (
        CheckConstraint("preferred_language IN ('ar', 'zh', 'en', 'fr', 'ru', 'es')", name="language_is_official"),
        CheckConstraint("(erased_at IS NULL) = (name IS NOT NULL)", name="named_unless_erased"),
    )


class FocalPointPost(RecordMixin, Base):
    """A person's focal-point post for one entity, one network or one working group, from
    ``start_date`` to ``end_date`` (inclusive; open-ended when unset)."""

    __tablename__ = "focal_point_posts"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    entity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("entities.id", ondelete="RESTRICT"))
    network_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"))
    working_group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("working_groups.id", ondelete="RESTRICT"))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    end_reason: Mapped[str | None] = mapped_column(String(500))
    is_demo: Mapped[bool] = mapped_column(server_default="false")

    __table_args__ = (
        CheckConstraint("num_nonnulls(entity_id, network_id, working_group_id) = 1", name="one_subject"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period_ordered"),
        Index("ix_focal_point_posts_entity", "entity_id", "start_date"),
        Index("ix_focal_point_posts_network", "network_id", "start_date"),
        Index("ix_focal_point_posts_working_group", "working_group_id", "start_date"),
    )
