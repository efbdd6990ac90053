import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Identity, Index, SmallInteger, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base
from services.ids import uuid7

# A transaction's place in the change feed: its id, plus an offset that `registry migrate`
# raises after a dump is restored into another server (whose ids start lower than the
# restored events'), so that new transactions still sort after every restored one.
XID_OFFSET = "coalesce(nullif(current_setting('registry.xid_offset', true), '')::bigint, 0)"
TRANSACTION_ORDER = f"(pg_current_xact_id()::text)::bigint + {XID_OFFSET}"
# Every transaction of this database below this has committed or rolled back: the oldest
# transaction still running in the statement's snapshot (else the snapshot's xmax), leaving out
# those that pg_stat_activity shows running in another database of the cluster, which can
# never write here (so another application's long transaction does not hold the feed back).
# A running transaction that cannot be placed (it ended meanwhile, or the role may not see
# another user's sessions) still counts: the horizon only ever errs on the early side.
FEED_HORIZON = f"""(coalesce(
    (SELECT min(x::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
      WHERE NOT EXISTS (
        SELECT FROM pg_stat_activity AS a
         WHERE a.datname <> current_database()
           AND a.backend_xid::text::bigint = x::text::bigint % 4294967296)),
    pg_snapshot_xmax(pg_current_snapshot())::text::bigint) + {XID_OFFSET})"""  # noqa: S608 (constants only)


class Event(Base):
    """A change to a record.

    ``position`` orders the log; the change feed reads it by (``transaction_id``,
    ``position``), so that a reader skips past only what every earlier transaction has
    committed; ``published_at`` is set
    by the relay once the event has been handed to the broker.
    """

    __tablename__ = "events"

    position: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid7)
    type: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[uuid.UUID]
    network_id: Mapped[uuid.UUID | None]
    actor: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(server_default=func.now())
    transaction_id: Mapped[int] = mapped_column(BigInteger, server_default=text(TRANSACTION_ORDER))
    published_at: Mapped[datetime | None]
    # The X-Request-ID of the request (or of the actor message a request caused) that
    # recorded it: `registry trace` follows it to the deliveries.
    request_id: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        Index("ix_events_subject", "subject_type", "subject_id", "position"),
        Index("ix_events_network_id", "network_id", "position"),
        Index("ix_events_unpublished", "position", postgresql_where=text("published_at IS NULL")),
        # Reports and indicators over a period: a network's events by time, and one type's by time.
        Index("ix_events_network_occurred", "network_id", "occurred_at", postgresql_include=["type"]),
        Index("ix_events_type_occurred", "type", "occurred_at"),
        Index("ix_events_feed_order", "transaction_id", "position"),  # the change feed's order
        Index("ix_events_request_id", "request_id", postgresql_where=text("request_id IS NOT NULL")),
    )


class RelayQueue(Base):
    """Whether a relay message is queued: one row. A nudge sends one only when none is
    (``queued_until`` unset or lapsed); the relay clears it as it starts. So writes made while
    the workers are away or busy add one message, not one each."""

    __tablename__ = "relay_queue"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    queued_until: Mapped[datetime | None]

    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)
