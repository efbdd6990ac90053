"""Keyset pagination on the primary key, with opaque cursors."""

import base64
import binascii
import uuid
from dataclasses import dataclass
from typing import Any

from services.errors import InvalidInput


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: uuid.UUID | None = None


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(b"k1:" + last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    """The id a cursor points after; a cursor this service did not issue is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if not raw.startswith(b"k1:") or len(raw) != 19:
        raise InvalidInput(
            "invalid-cursor",
            'The cursor is not one this service issued; follow the Link header\'s rel="next" URL.',
        )
    return uuid.UUID(bytes=raw[3:])


def page_from_rows(rows: list[dict[str, Any]], limit: int) -> Page:
    """Rows fetched with ``limit + 1``: the extra row only says a next page exists."""
    if len(rows) > limit:
        items = rows[:limit]
        return Page(items=items, next_cursor=encode_cursor(items[-1]["id"]))
    return Page(items=rows, next_cursor=None)
