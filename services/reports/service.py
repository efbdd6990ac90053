"""The activity report for a network and a period."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.clock import add_months, clock
from services.errors import InvalidInput, NotFound
from services.indicators.repository import EARLIEST, LATEST
from services.reference.countries import designation_footnotes
from services.reports.repository import Period, network_heading
from services.reports.sections import SECTIONS

MAX_PERIOD_YEARS = 10


def check_period(start: date, end: date) -> None:
    """A period a report can be made for: ordered, within the registry's dates, at most ten years."""
    if start > end:
        raise InvalidInput("invalid-period", f"from ({start}) is after to ({end}); give the first day, then the last.")
    if start < EARLIEST or end > LATEST:
        raise InvalidInput(
            "period-out-of-range", f"A report covers days between {EARLIEST} and {LATEST}; choose dates in that range."
        )
    if end >= add_months(start, 12 * MAX_PERIOD_YEARS):
        raise InvalidInput(
            "period-too-long",
            f"A report covers at most {MAX_PERIOD_YEARS} years; split {start} to {end} into shorter periods.",
        )


async def activity_report(conn: AsyncConnection, *, network_id: uuid.UUID, start: date, end: date) -> dict[str, Any]:
    """What the network did from ``start`` to ``end`` (both included): ``network``, ``period``,
    ``generated_at``, ``footnotes`` (the UN designation footnotes its country calls for), then
    one list of rows per section (see services.reports.sections)."""
    check_period(start, end)
    network = await network_heading(conn, network_id)
    if network is None:
        raise NotFound("network-not-found", f"No network has id {network_id}.")
    period = Period(network_id=network_id, start=start, end=end)
    report: dict[str, Any] = {
        "network": network,
        "period": {"from": start, "to": end},
        "generated_at": clock.now(),
        "footnotes": designation_footnotes([network["country_code"]]),
    }
    for section in SECTIONS:
        report[section.name] = await section.load(conn, period)
    return report
