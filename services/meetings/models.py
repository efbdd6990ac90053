import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base, RecordMixin
from services.entities.models import enum_column
from services.ids import uuid7


class MeetingKind(enum.StrEnum):
    EXTENDED_MEMBERSHIP = "extended_membership"  # the at-least-annual meeting with other stakeholders
    EXECUTIVE_COMMITTEE = "executive_committee"  # the core tier
    WORKING_GROUP = "working_group"
    FRAMING_CONFERENCE = "framing_conference"
    OTHER = "other"


class MeetingStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


DEFAULT_REMINDER_MINUTES = [30 * 24 * 60, 7 * 24 * 60, 24 * 60]


class Meeting(RecordMixin, Base):
    __tablename__ = "meetings"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"))
    working_group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("working_groups.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[MeetingKind] = mapped_column(enum_column(MeetingKind, "meeting_kind"))
    title: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    time_zone: Mapped[str] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(500))
    online_url: Mapped[str | None] = mapped_column(String(1000))
    agenda: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")
    # {"fr": {"title": ...}, ...}: the other official languages; ``title`` is the original
    # (services/schemas.py, translations).
    translations: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    status: Mapped[MeetingStatus] = mapped_column(
        enum_column(MeetingStatus, "meeting_status"), server_default=MeetingStatus.SCHEDULED.value
    )
    # Bumped by every significant change (time, place, status), as iCalendar's SEQUENCE.
    sequence: Mapped[int] = mapped_column(Integer, server_default="0")
    reminder_minutes: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    cancel_reason: Mapped[str | None] = mapped_column(String(1000))
    minutes: Mapped[str | None] = mapped_column(Text)
    outcomes: Mapped[list[str]] = mapped_column(JSONB, server_default="[]")
    is_demo: Mapped[bool] = mapped_column(server_default="false")

    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("jsonb_typeof(translations) = 'object'", name="translations_is_object"),
        CheckConstraint("location IS NOT NULL OR online_url IS NOT NULL", name="has_a_place"),
        CheckConstraint("(kind = 'working_group') = (working_group_id IS NOT NULL)", name="working_group_kind"),
        CheckConstraint("status <> 'cancelled' OR cancel_reason IS NOT NULL", name="cancelled_with_reason"),
        Index("ix_meetings_network_starts", "network_id", "kind", "starts_at"),
    )


class InviteeAnswer(enum.StrEnum):
    """An invitee's answer to its invitation, as iCalendar's PARTSTAT says it."""

    ACCEPTED = "accepted"
    TENTATIVE = "tentative"
    DECLINED = "declined"


class MeetingInvitee(Base):
    """An entity of the registry, or an external stakeholder named with a contact e-mail,
    with its answer to the invitation once it gave one (and the person who gave it, when the
    link it used was sent to a person of the registry)."""

    __tablename__ = "meeting_invitees"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    entity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("entities.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320))
    attended: Mapped[bool | None]
    answer: Mapped[str | None] = mapped_column(String(20))
    answered_at: Mapped[datetime | None]
    answered_by_person_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        CheckConstraint("entity_id IS NOT NULL OR (name IS NOT NULL AND email IS NOT NULL)", name="who"),
        CheckConstraint(
            "(answer IS NULL) = (answered_at IS NULL)"
            " AND (answer IS NULL OR answer IN ('accepted', 'tentative', 'declined'))",
            name="answer",
        ),
        UniqueConstraint("meeting_id", "entity_id"),
        Index(
            "uq_meeting_invitees_email", "meeting_id", "email", unique=True, postgresql_where=text("entity_id IS NULL")
        ),
    )


class MeetingReminder(Base):
    """A reminder due at a time; the scheduler sends each once, and never for a cancelled meeting."""

    __tablename__ = "meeting_reminders"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    minutes_before: Mapped[int]
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("meeting_id", "minutes_before"),
        Index("ix_meeting_reminders_due", "due_at", postgresql_where=text("sent_at IS NULL")),
    )


class MeetingLapse(Base):
    """An annual-meeting alert already raised: one per network, due date and state
    (``at_risk``, then ``overdue``)."""

    __tablename__ = "meeting_lapses"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    due_by: Mapped[date] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(20), primary_key=True)
    alerted_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
