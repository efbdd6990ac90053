import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base, RecordMixin
from services.entities.models import enum_column


class FeedScope(enum.StrEnum):
    NETWORK = "network"
    WORKING_GROUP = "working_group"
    MEETING = "meeting"


class CalendarSubscription(RecordMixin, Base):
    """A secret feed URL for a calendar app, which cannot send an Authorization header. The
    token in the URL is the credential: shown once, kept as a hash, revocable. The feed
    stops when it is revoked, or when the API key that created it is revoked or expires."""

    __tablename__ = "calendar_subscriptions"

    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[FeedScope] = mapped_column(enum_column(FeedScope, "calendar_feed_scope"))
    subject_id: Mapped[uuid.UUID]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(20))
    owner_principal_id: Mapped[str] = mapped_column(String(200), index=True)
    owner_role: Mapped[str] = mapped_column(String(20))
    owner_entity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("entities.id", ondelete="RESTRICT"))
    owner_api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(200))
