"""The registry's one date domain: every date from 1900-01-01 to 2999-12-31, and every time
written with a date in that range (with its offset, so in UTC and in any IANA zone it stays
within a day of the range: far from the years where Python or PostgreSQL overflow). Every body
field, query parameter and computed date lives inside it, so nothing stored can later
overflow a computation; the OpenAPI document states it as a pattern on the year.

``RegistryDate`` and ``RegistryDateTime`` are the types schemas and parameters use: strings
only (a number is never a date), ISO 8601 dates and RFC 3339 times with an offset, inside the
domain; anything else is a 422 naming the field and the range."""

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, WithJsonSchema

DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2999, 12, 31)

_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_INSTANT_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})")
# What the document says of the year: 1900 to 2999.
YEAR_PATTERN = "^(19|2[0-9])[0-9]{2}-"

DATE_RANGE = f"between {DATE_MIN} and {DATE_MAX}"
INSTANT_RANGE = f"dated between {DATE_MIN} and {DATE_MAX}"


def _date_text(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_TEXT.fullmatch(value):
        return value
    raise ValueError("a date is written YYYY-MM-DD (ISO 8601), as a string")


def in_date_domain(value: date) -> date:
    """``value``, if the registry's dates include it; otherwise a ValueError naming the range."""
    if not DATE_MIN <= value <= DATE_MAX:
        raise ValueError(f"must be {DATE_RANGE}, the registry's dates")
    return value


def _instant_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _INSTANT_TEXT.fullmatch(value):
        return value
    raise ValueError("a time is written in RFC 3339 with an offset (2030-03-01T09:00:00+01:00), as a string")


def in_instant_domain(value: datetime) -> datetime:
    """``value`` in UTC, if it carries an offset and its written date is a registry date."""
    if value.tzinfo is None or not DATE_MIN <= value.date() <= DATE_MAX:
        raise ValueError(f"must be {INSTANT_RANGE} (with an offset), the registry's times")
    return value.astimezone(UTC)


def clamp_date(value: date) -> date:
    """A computed date (a review falling due, a cycle's next date) kept inside the domain."""
    return min(max(value, DATE_MIN), DATE_MAX)


RegistryDate = Annotated[
    date,
    BeforeValidator(_date_text),
    AfterValidator(in_date_domain),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": YEAR_PATTERN,
            "description": f"ISO 8601 date, {DATE_RANGE}.",
        }
    ),
]
RegistryDateTime = Annotated[
    AwareDatetime,
    BeforeValidator(_instant_text),
    AfterValidator(in_instant_domain),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": YEAR_PATTERN,
            "description": f"RFC 3339 with an offset, {INSTANT_RANGE}.",
        }
    ),
]
