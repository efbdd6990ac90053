"""The change feed: events in log order, safe to page through while writes go on."""

import base64
import binascii
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from sqlalchemy import BigInteger, Select, literal_column, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from services.errors import InvalidInput
from services.events.models import FEED_HORIZON, Event
from services.events.privacy import redact_payload
from services.events.visibility import feed_condition
from services.principals import Principal
from services.schemas import Form

_PREFIX = b"e2:"
_BIGINT_MAX = 2**63 - 1
# What encode_position writes: unpadded base64url.
FeedCursor = Annotated[
    str, Form(r"^[A-Za-z0-9_-]+$", "a position in the feed as a previous answer gives it (letters, digits, - and _)")
]


@dataclass(frozen=True, order=True)
class FeedPosition:
    """Where a reader stands: the feed is ordered by (transaction, position), so anything that
    commits after a page was read sorts after it — a late commit is never skipped."""

    transaction_id: int = 0
    position: int = 0


START = FeedPosition()


def encode_position(at: FeedPosition) -> str:
    return base64.urlsafe_b64encode(_PREFIX + f"{at.transaction_id}.{at.position}".encode()).decode().rstrip("=")


def decode_position(cursor: str) -> FeedPosition:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    numbers = raw[len(_PREFIX) :].split(b".") if raw.startswith(_PREFIX) else []
    if len(numbers) != 2 or not all(n.isdigit() and int(n) <= _BIGINT_MAX for n in numbers):
        raise InvalidInput("invalid-cursor", "The cursor is not one this feed issued; start again without one.")
    return FeedPosition(int(numbers[0]), int(numbers[1]))


@dataclass(frozen=True)
class FeedFilters:
    types: tuple[str, ...] = ()
    subject_type: str | None = None
    subject_id: uuid.UUID | None = None
    network_id: uuid.UUID | None = None


@dataclass(frozen=True)
class FeedPage:
    items: list[dict[str, Any]]
    next_cursor: str
    caught_up: bool  # nothing more to read now: poll again later from next_cursor


def _matches(event_type: Any, pattern: str) -> Any:
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


_HORIZON = select(literal_column(FEED_HORIZON, BigInteger))


def feed_query(*, after: FeedPosition, horizon: Any, filters: FeedFilters, actor: Principal) -> Select[Any]:
    """The events ``actor`` may read after ``after`` and before ``horizon`` (a transaction id,
    or the SQL that computes it), matching ``filters``, in log order; ``transaction_id`` is
    selected for the ordering and is not part of an item."""
    order = (Event.transaction_id, Event.position)
    query = select(
        Event.transaction_id,
        Event.position,
        Event.id,
        Event.type,
        Event.subject_type,
        Event.subject_id,
        Event.network_id,
        Event.actor,
        Event.occurred_at,
        Event.payload.label("data"),
    ).where(tuple_(*order) > tuple_(after.transaction_id, after.position), Event.transaction_id < horizon)
    query = query.where(feed_condition(actor))  # keys and endpoints: admins' and their owners' business
    if filters.types:
        query = query.where(or_(*(_matches(Event.type, t) for t in filters.types)))
    if filters.subject_type is not None:
        query = query.where(Event.subject_type == filters.subject_type)
    if filters.subject_id is not None:
        query = query.where(Event.subject_id == filters.subject_id)
    if filters.network_id is not None:
        query = query.where(Event.network_id == filters.network_id)
    return query.order_by(*order)


def feed_export_query(*, after: FeedPosition, filters: FeedFilters, actor: Principal) -> Select[Any]:
    """Every event the feed would serve now from ``after``, for an export."""
    return feed_query(after=after, horizon=_HORIZON.scalar_subquery(), filters=filters, actor=actor)


def shape_for(actor: Principal) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """How an event row reads for ``actor``: invitees' e-mail addresses only for admins."""
    if actor.is_admin:
        return lambda row: row
    return lambda row: {**row, "data": redact_payload(row["data"])}


async def read_feed(
    conn: AsyncConnection, *, after: FeedPosition, limit: int, filters: FeedFilters, actor: Principal
) -> FeedPage:
    """Events after a position, in the order their transactions began. Only events of
    transactions older than every transaction still running are served, so an event that
    commits late sorts after everything already served and is never skipped.

    A page shorter than ``limit`` means the reader has caught up: its cursor then stands at
    the head of the log (past events the filters or the reader's role leave out), so the
    next poll starts there."""
    horizon = await conn.scalar(_HORIZON)  # one horizon for the page and the head: nothing slips between
    order = (Event.transaction_id, Event.position)
    query = feed_query(after=after, horizon=horizon, filters=filters, actor=actor)
    rows = [dict(r) for r in (await conn.execute(query.limit(limit))).mappings()]
    if not actor.is_admin:
        rows = [{**row, "data": redact_payload(row["data"])} for row in rows]
    last = FeedPosition(rows[-1]["transaction_id"], rows[-1]["position"]) if rows else after
    caught_up = len(rows) < limit
    if caught_up:
        head = (
            await conn.execute(
                select(*order).where(Event.transaction_id < horizon).order_by(*(c.desc() for c in order)).limit(1)
            )
        ).first()
        if head is not None:
            last = max(last, FeedPosition(head[0], head[1]))
    for row in rows:
        del row["transaction_id"]
    return FeedPage(items=rows, next_cursor=encode_position(last), caught_up=caught_up)
