"""Keyset pagination on the primary key, with opaque cursors."""

import base64
import binascii
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from sqlalchemy import Integer, Select, bindparam

from services.errors import InvalidInput
from services.schemas import Form


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: uuid.UUID | None = None


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


# What every cursor encode_cursor issues looks like ("k1:" and 16 bytes, base64url), so that
# the OpenAPI document can say it exactly.
PAGE_CURSOR_PATTERN = "^azE6[A-Za-z0-9_-]{22}$"
PageCursor = Annotated[str, Form(PAGE_CURSOR_PATTERN, "a cursor as a page's next link gives it")]


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


# Positions are PostgreSQL bigints; a cursor naming anything larger was not issued here.
MAX_POSITION = 2**63 - 1


def decode_position_cursor(cursor: str, prefix: bytes, *, detail: str) -> int:
    """The position a ``prefix``-tagged cursor holds; anything else (not base64, another tag,
    not a number, beyond a bigint) is a 422 ``invalid-cursor`` with ``detail``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    digits = raw[len(prefix) :]
    if not raw.startswith(prefix) or not digits.isdigit() or len(digits) > 19 or int(digits) > MAX_POSITION:
        raise InvalidInput("invalid-cursor", detail)
    return int(digits)


def page_from_rows(rows: list[dict[str, Any]], limit: int) -> Page:
    """Rows fetched with ``limit + 1``: the extra row only says a next page exists."""
    if len(rows) > limit:
        items = rows[:limit]
        return Page(items=items, next_cursor=encode_cursor(items[-1]["id"]))
    return Page(items=rows, next_cursor=None)


def keyset_page(query: Select[Any], id_column: Any, *, after: bool) -> Select[Any]:
    """The tail of a list statement built once: the rows after the bound ``after`` id (when
    the request names one), in id order, at most the bound ``limit`` of them."""
    if after:
        query = query.where(id_column > bindparam("after"))
    return query.order_by(id_column).limit(bindparam("limit", type_=Integer))


async def fetch_page(conn: Any, statement: Any, page: PageRequest, **params: Any) -> Page:
    """One page of a list whose statement was built once with bound parameters (``after`` and
    ``limit`` for the page, one for each filter given; a filter left out is None here and
    absent from the statement)."""
    values = {name: value for name, value in params.items() if value is not None}
    if page.after is not None:
        values["after"] = page.after
    values["limit"] = page.limit + 1
    result = await conn.execute(statement, values)
    return page_from_rows([dict(r) for r in result.mappings()], page.limit)
