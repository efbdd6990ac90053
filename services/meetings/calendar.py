"""iCalendar (RFC 5545) for meetings: feeds, and the invitations e-mail will carry."""

import zoneinfo
from collections.abc import Iterable
from datetime import UTC
from typing import Any

import icalendar

PRODID = "-//United Nations Network on Migration//Migration Network Registry//EN"
UID_DOMAIN = "migration-network-registry"


def meeting_event(row: dict[str, Any], *, record_url: str) -> icalendar.Event:
    zone = zoneinfo.ZoneInfo(row["time_zone"])
    event = icalendar.Event()
    event.add("uid", f"{row['id']}@{UID_DOMAIN}")  # stable for the life of the meeting
    event.add("dtstamp", row["updated_at"].astimezone(UTC))
    event.add("sequence", row["sequence"])
    event.add("summary", row["title"])
    event.add("dtstart", row["starts_at"].astimezone(zone))
    event.add("dtend", row["ends_at"].astimezone(zone))
    event.add("status", {"scheduled": "CONFIRMED", "held": "CONFIRMED", "cancelled": "CANCELLED"}[str(row["status"])])
    if row["location"] or row["online_url"]:
        event.add("location", row["location"] or row["online_url"])
    event.add("url", record_url)
    lines = [f"{i}. {item['title']}" for i, item in enumerate(row["agenda"], start=1)]
    if row["online_url"]:
        lines.append(f"Online: {row['online_url']}")
    if row["status"] == "cancelled" and row["cancel_reason"]:
        lines.append(f"Cancelled: {row['cancel_reason']}")
    if lines:
        event.add("description", "\n".join(lines))
    return event


def calendar_for(rows: Iterable[dict[str, Any]], *, name: str, record_url: Any, method: str | None = None) -> bytes:
    """A VCALENDAR with one VEVENT per meeting and the VTIMEZONEs they use.
    ``record_url(row)`` links each event back to its record."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    if method:
        cal.add("method", method)
    for row in rows:
        cal.add_component(meeting_event(row, record_url=record_url(row)))
    cal.add_missing_timezones()
    return bytes(cal.to_ical())
