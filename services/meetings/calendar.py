"""iCalendar (RFC 5545) for meetings: feeds, and the invitations e-mail will carry."""

import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

import icalendar

from services.locales import DEFAULT_LANGUAGE, N_, localizer
from services.reference.countries import designation_footnotes
from services.schemas import multi_line, single_line

PRODID = "-//United Nations Network on Migration//Migration Network Registry//EN"
UID_DOMAIN = "migration-network-registry"


# The words a DESCRIPTION adds before a meeting's values.
ONLINE = N_("Online: {url}")
CANCELLED = N_("Cancelled: {reason}")


@dataclass(frozen=True)
class Attendee:
    """An invitee as an iTIP ATTENDEE: ``address`` is ``mailto:…``, or ``urn:uuid:…`` where
    there is no address to show (none known, or one the reader may not see)."""

    name: str
    address: str
    is_group: bool  # an entity (CUTYPE=GROUP) rather than a person
    answer: str | None = None  # the invitee's answer (accepted, tentative, declined); None: not yet


def partstat(answer: str | None) -> str:
    """iCalendar's PARTSTAT for an invitee's answer (RFC 5545 §3.2.12)."""
    return {"accepted": "ACCEPTED", "tentative": "TENTATIVE", "declined": "DECLINED"}.get(answer or "", "NEEDS-ACTION")


def feed_attendees(row: dict[str, Any]) -> list[Attendee]:
    """A meeting's invitees as a feed shows them, each with its answer: by ``urn:uuid`` only
    (a feed is read by anyone holding a key or the feed's URL; addresses are personal data)."""
    attendees = []
    for invitee in row.get("invitees") or []:
        entity = invitee.get("entity")
        name = str(entity["name"] if entity else invitee.get("name") or "")
        attendees.append(
            Attendee(
                name=name, address=f"urn:uuid:{invitee['id']}", is_group=bool(entity), answer=invitee.get("answer")
            )
        )
    return attendees


@dataclass(frozen=True)
class Organizer:
    name: str
    email: str


def _add_attendees(event: icalendar.Event, organizer: Organizer | None, attendees: Sequence[Attendee]) -> None:
    if organizer is not None:
        event.add("organizer", f"mailto:{single_line(organizer.email)}", parameters={"CN": _parameter(organizer.name)})
    for attendee in attendees:
        event.add(
            "attendee",
            attendee.address,
            parameters={
                "CN": _parameter(attendee.name),
                "CUTYPE": "GROUP" if attendee.is_group else "INDIVIDUAL",
                "ROLE": "REQ-PARTICIPANT",
                "PARTSTAT": partstat(attendee.answer),
                "RSVP": "TRUE" if attendee.answer is None else "FALSE",
            },
        )


def _parameter(value: str) -> str:
    """A parameter value (a CN) as RFC 5545 allows it: one line, and no double quote (a
    parameter value may be quoted but cannot hold a quote)."""
    return single_line(value).replace('"', "'")


def meeting_event(
    row: dict[str, Any],
    *,
    record_url: str | None,
    organizer: Organizer | None = None,
    attendees: Sequence[Attendee] = (),
    language: str = DEFAULT_LANGUAGE,
) -> icalendar.Event:
    loc = localizer(language)
    zone = zoneinfo.ZoneInfo(row["time_zone"])
    event = icalendar.Event()
    event.add("uid", f"{row['id']}@{UID_DOMAIN}")  # stable for the life of the meeting
    event.add("dtstamp", row["updated_at"].astimezone(UTC))
    event.add("sequence", row["sequence"])
    event.add("summary", single_line(row["title"]))
    event.add("dtstart", row["starts_at"].astimezone(zone))
    event.add("dtend", row["ends_at"].astimezone(zone))
    event.add("status", {"scheduled": "CONFIRMED", "held": "CONFIRMED", "cancelled": "CANCELLED"}[str(row["status"])])
    if row["location"] or row["online_url"]:
        event.add("location", single_line(row["location"] or row["online_url"]))
    if record_url is not None:
        event.add("url", record_url)
    lines = [f"{i}. {single_line(item['title'])}" for i, item in enumerate(row["agenda"], start=1)]
    if row["online_url"]:
        lines.append(loc.gettext(ONLINE).format(url=single_line(row["online_url"])))
    if row["status"] == "cancelled" and row["cancel_reason"]:
        lines.append(loc.gettext(CANCELLED).format(reason=row["cancel_reason"]))
    # A meeting of a network whose country the UN names with a footnote carries the footnote.
    lines += designation_footnotes([row.get("network_country_code")])
    if lines:
        event.add("description", multi_line("\n".join(lines)))
    if organizer is not None:
        _add_attendees(event, organizer, attendees)
    elif row.get("invitees"):  # a feed: who is invited and their answers, without addresses
        _add_attendees(event, None, feed_attendees(row))
    return event


def calendar_for(
    rows: Iterable[dict[str, Any]],
    *,
    name: str,
    record_url: Callable[[dict[str, Any]], str] | None,
    method: str | None = None,
    organizer: Organizer | None = None,
    attendees: Sequence[Attendee] = (),
    language: str = DEFAULT_LANGUAGE,
) -> bytes:
    """A VCALENDAR with one VEVENT per meeting and the VTIMEZONEs they use, valid over the
    meetings' whole span (past 2038 too). ``record_url(row)`` links each event back to its
    record (None: no link, for an invitation whose reader could not open the record). An
    invitation (``method`` REQUEST or CANCEL, RFC 5546) names its organizer and attendees. A row's ``network_country_code``, when present, adds the UN designation footnote
    its country calls for to the DESCRIPTION. The words the registry adds to a DESCRIPTION
    (not the records' own title, place or agenda) are in ``language``, for an invitation the
    recipient's (services/mail/compose.py)."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", single_line(name))
    if method:
        cal.add("method", method)
    rows = list(rows)
    for row in rows:
        cal.add_component(
            meeting_event(
                row,
                record_url=record_url(row) if record_url else None,
                organizer=organizer,
                attendees=attendees,
                language=language,
            )
        )
    if rows:
        year = timedelta(days=366)
        first = min(row["starts_at"] for row in rows).date() - year
        last = max(row["ends_at"] for row in rows).date() + year
        cal.add_missing_timezones(first_date=first, last_date=last)
    return bytes(cal.to_ical())
