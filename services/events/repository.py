"""The change feed: events in log order, safe to page through while writes go on."""

import base64
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.events.models import Event
from services.meetings.privacy import redact_payload
from services.pagination import decode_position_cursor
from services.principals import Principal

_PREFIX = b"e1:"


def encode_position(position: int) -> str:
    return base64.urlsafe_b64encode(_PREFIX + str(position).encode()).decode().rstrip("=")


def decode_position(cursor: str) -> int:
    return decode_position_cursor(
        cursor, _PREFIX, detail="The cursor is not one this feed issued; start again without one."
    )


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


def _matches(event_type: Any, pattern: str) -> Any:
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


async def read_feed(
    conn: AsyncConnection, *, after: int, limit: int, filters: FeedFilters, actor: Principal
) -> FeedPage:
    """Events after a position, oldest first. Only events of transactions older than every
    transaction still running are served, so an event committed late under an earlier
    position is never skipped by a reader who has moved past it."""
    horizon = literal_column("(pg_snapshot_xmin(pg_current_snapshot())::text)::bigint", BigInteger)
    query = select(
        Event.position,
        Event.id,
        Event.type,
        Event.subject_type,
        Event.subject_id,
        Event.network_id,
        Event.actor,
        Event.occurred_at,
        Event.payload.label("data"),
    ).where(Event.position > after, Event.transaction_id < horizon)
    if not actor.is_admin:
        query = query.where(Event.subject_type != "api_key")  # keys are their owners' business
    if filters.types:
        query = query.where(or_(*(_matches(Event.type, t) for t in filters.types)))
    if filters.subject_type is not None:
        query = query.where(Event.subject_type == filters.subject_type)
    if filters.subject_id is not None:
        query = query.where(Event.subject_id == filters.subject_id)
    if filters.network_id is not None:
        query = query.where(Event.network_id == filters.network_id)
    rows = [dict(r) for r in (await conn.execute(query.order_by(Event.position).limit(limit))).mappings()]
    if not actor.is_admin:
        rows = [{**row, "data": redact_payload(row["data"])} for row in rows]
    last = rows[-1]["position"] if rows else after
    return FeedPage(items=rows, next_cursor=encode_position(last))
