import uuid
from datetime import datetime

from sqlalchemy import ARRAY, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base, RecordMixin
from services.delivery_status import DeliveryStatus
from services.entities.models import enum_column
from services.ids import uuid7


class WebhookEndpoint(RecordMixin, Base):
    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(100)))
    enabled: Mapped[bool] = mapped_column(server_default="true")
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    # Who owns it: the principal that registered it, and its entity if it acts for one.
    owner_principal_id: Mapped[str] = mapped_column(String(200), index=True)
    owner_role: Mapped[str] = mapped_column(String(20))
    owner_entity_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("entities.id", ondelete="RESTRICT"), index=True
    )
    # Secrets sign deliveries, so they are kept, encrypted (services/webhooks/secrets.py):
    # both under the key secrets_key_id names. They are shown only at creation and rotation.
    secret: Mapped[str] = mapped_column(String(200))
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    secrets_key_id: Mapped[str] = mapped_column(String(64))
    previous_secret_expires_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One event for one endpoint. Its id is the ``webhook-id``: the same on every retry."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="RESTRICT"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "webhook_delivery_status"), server_default=DeliveryStatus.PENDING.value
    )
    attempts: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    # A worker holds a delivery while it sends; a worker that dies lets go when this passes.
    lease_until: Mapped[datetime | None]
    # A broker message for it is queued until this passes (one message per due delivery);
    # queued_count counts the messages ever sent for it, re-sends included.
    queued_until: Mapped[datetime | None]
    queued_count: Mapped[int] = mapped_column(Integer, server_default="0")
    last_status_code: Mapped[int | None] = mapped_column(SmallInteger)
    last_error: Mapped[str | None] = mapped_column(String(500))
    succeeded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    # The request id of the event it delivers (sent along as X-Request-ID).
    request_id: Mapped[str | None] = mapped_column(String(100))
    # Its event's network (None: the event belongs to none), for the indicators' counts.
    network_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        # the failed ones, counted by `registry status` and the metrics (few: a partial index)
        Index("ix_webhook_deliveries_failed", "id", postgresql_where=text("status = 'failed'")),
        Index("ix_webhook_deliveries_created", "created_at"),
        Index(  # the indicators count a network's deliveries over a period, from the index alone
            "ix_webhook_deliveries_network_created",
            "network_id",
            "created_at",
            postgresql_include=["status", "attempts"],
            postgresql_where=text("network_id IS NOT NULL"),
        ),
    )


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


def webhook_id(delivery_id: uuid.UUID) -> str:
    """A delivery's ``webhook-id``: the same on every retry of it."""
    return "msg_" + delivery_id.hex
