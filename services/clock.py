"""The one source of "now" and "today", so time-driven rules can be tested."""

import calendar
from datetime import UTC, date, datetime


class Clock:
    """Wall-clock time in UTC, which tests may freeze."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        return self._frozen if self._frozen is not None else datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()

    def freeze(self, at: datetime | None) -> None:
        """Pin the clock to ``at`` (timezone-aware); ``None`` releases it."""
        if at is not None and at.tzinfo is None:
            raise ValueError("a frozen time must carry a time zone")
        self._frozen = at


clock = Clock()


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), or that month's last day if it has fewer days."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
