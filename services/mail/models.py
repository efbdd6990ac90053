import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base
from services.delivery_status import DeliveryStatus
from services.entities.models import enum_column
from services.ids import uuid7


class EmailDelivery(Base):
    """One event's message to one recipient; sent once, retried on failure."""

    __tablename__ = "email_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="RESTRICT"))
    recipient: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "email_delivery_status"), server_default=DeliveryStatus.PENDING.value
    )
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    lease_until: Mapped[datetime | None]
    # A broker message for it is queued until this passes (one message per due delivery);
    # queued_count counts the messages ever sent for it, re-sends included.
    queued_until: Mapped[datetime | None]
    queued_count: Mapped[int] = mapped_column(Integer, server_default="0")
    # The SMTP server's reply code to the last attempt (None: no reply, the server was not reached).
    last_status_code: Mapped[int | None] = mapped_column(SmallInteger)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    # The request id of the event it delivers (sent along as X-Request-ID).
    request_id: Mapped[str | None] = mapped_column(String(100))
    # Its event's network (None: the event belongs to none), for the indicators' counts.
    network_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        UniqueConstraint("event_id", "recipient"),
        Index("ix_email_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        # the failed ones, counted by `registry status` and the metrics (few: a partial index)
        Index("ix_email_deliveries_failed", "id", postgresql_where=text("status = 'failed'")),
        Index("ix_email_deliveries_created", "created_at"),
        Index(  # the indicators count a network's deliveries over a period, from the index alone
            "ix_email_deliveries_network_created",
            "network_id",
            "created_at",
            postgresql_include=["status", "attempts"],
            postgresql_where=text("network_id IS NOT NULL"),
        ),
    )


class EmailAttempt(Base):
    """One attempt at sending an e-mail delivery, as ``WebhookAttempt`` is for a webhook's."""

    __tablename__ = "email_attempts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("email_deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
