"""The body of a meeting's e-mail (an invitation, an updated invitation, a reminder, a
cancellation), as plain text and as HTML from the same parts: why the recipient gets it,
what changed (was → now), the reason a cancellation gives, the meeting, the network or
working group it belongs to and who organises it. Stored text is user text: single-line
where a line is expected, escaped in HTML and marked ``dir="auto"`` (a right-to-left title
reads right)."""

import uuid
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any

from services.mail.parties import PartyBook, organiser, parse_time, reasons_for
from services.schemas import multi_line, single_line

EN_DASH = "\u2013"
# Fields of a meeting.updated event that change what the meeting says, in the order shown.
_TIME_FIELDS = ("starts_at", "ends_at", "time_zone")
_PLACE_FIELDS = ("location", "online_url")


def _day(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def _span(start: datetime, end: datetime, label: str, *, with_day: bool) -> str:
    first = f"{_day(start)}, {start:%H:%M}" if with_day else f"{start:%H:%M}"
    if start.date() == end.date():
        return f"{first}{EN_DASH}{end:%H:%M} {label}"
    return f"{first} {EN_DASH} {_day(end)}, {end:%H:%M} {label}"


def local_times(meeting: dict[str, Any]) -> str:
    """When, in the meeting's own time zone, named: "Tuesday 12 January 2027, 14:00-17:00 Europe/Zurich", with an en dash."""
    zone_name = str(meeting["time_zone"])
    zone = zoneinfo.ZoneInfo(zone_name)
    starts, ends = parse_time(meeting["starts_at"]), parse_time(meeting["ends_at"])
    return _span(starts.astimezone(zone), ends.astimezone(zone), zone_name, with_day=True)


def meeting_times(meeting: dict[str, Any]) -> str:
    """When, for a person: in the meeting's own time zone, named, and in UTC —
    "Tuesday 12 January 2027, 14:00-17:00 Europe/Zurich (13:00-16:00 UTC)", with en dashes."""
    local = local_times(meeting)
    if str(meeting["time_zone"]) in ("UTC", "Etc/UTC"):
        return local
    zone = zoneinfo.ZoneInfo(str(meeting["time_zone"]))
    starts, ends = parse_time(meeting["starts_at"]), parse_time(meeting["ends_at"])
    utc_start, utc_end = starts.astimezone(UTC), ends.astimezone(UTC)
    other_day = utc_start.date() != starts.astimezone(zone).date() or utc_start.date() != utc_end.date()
    return f"{local} ({_span(utc_start, utc_end, 'UTC', with_day=other_day)})"


def _place(meeting: dict[str, Any]) -> str:
    return single_line(", ".join(str(p) for p in (meeting.get("location"), meeting.get("online_url")) if p))


def _agenda(meeting: dict[str, Any]) -> list[str]:
    return [single_line(str(item["title"])) for item in meeting.get("agenda") or []]


def _numbered(items: list[str]) -> str:
    return "; ".join(f"{i}. {item}" for i, item in enumerate(items, start=1)) or "no agenda"


@dataclass(frozen=True)
class Change:
    """One thing a meeting.updated changed, as a person reads it: "Time: was …, now …".
    ``was`` is None where the event does not say (the invitee list)."""

    label: str
    was: str | None
    now: str

    def text(self) -> str:
        return f"{self.label}: now {self.now}" if self.was is None else f"{self.label}: was {self.was}, now {self.now}"


def _invitee_names(invitees: list[dict[str, Any]], book: PartyBook | None) -> list[str]:
    """Invitees by name: as the meeting shows them, or as a request lists them (an entity by
    id, named from the ``book``)."""
    names = []
    for invitee in invitees:
        entity = invitee.get("entity") or {}
        entity_id = entity.get("id") or invitee.get("entity_id")
        found = book.invited.get(uuid.UUID(str(entity_id))) if book is not None and entity_id else None
        name = entity.get("name") or (found.name if found is not None else None) or invitee.get("name")
        names.append(single_line(str(name or "an entity no longer in the registry")))
    return names


def what_changed(payload: dict[str, Any], book: PartyBook | None = None) -> list[Change]:
    """The changes of a meeting.updated event worth telling an invitee, from its ``changes``
    (each field's value before and after): title, time, place, agenda, invitees (named from
    the ``book``; an event recorded before invitees carried their previous list shows only
    the new one)."""
    changes: dict[str, Any] = payload.get("changes") or {}
    now = payload["meeting"]
    was = {**now, **{name: change["before"] for name, change in changes.items() if isinstance(change, dict)}}
    found = []
    if "title" in changes:
        found.append(Change("Title", single_line(str(was["title"])), single_line(str(now["title"]))))
    if set(_TIME_FIELDS) & changes.keys():
        found.append(Change("Time", local_times(was), local_times(now)))
    if set(_PLACE_FIELDS) & changes.keys():
        found.append(Change("Place", _place(was) or "none given", _place(now) or "none given"))
    if "agenda" in changes:
        found.append(Change("Agenda", _numbered(_agenda(was)), _numbered(_agenda(now))))
    if "invitees" in changes:
        now_names = _invitee_names(now["invitees"], book)
        before = changes["invitees"].get("before")
        was_names = _invitee_names(before, book) if isinstance(before, list) else None
        if was_names != now_names:
            was_text = None if was_names is None else ", ".join(was_names) or "none"
            found.append(Change("Invitees", was_text, ", ".join(now_names) or "none"))
    return found


@dataclass(frozen=True)
class AnswerLinks:
    """One invitee's signed links (services.meetings.links): its page of the meeting, and a
    confirmation page per answer (``answers``: label, URL), for the invitee named ``name``."""

    name: str
    page: str
    answers: list[tuple[str, str]]


@dataclass(frozen=True)
class MeetingMessage:
    """What a meeting's e-mail says, before it is written as text or HTML."""

    summary: str  # the catalogue's opening for this kind of e-mail
    reason: str
    changes: list[Change]
    cancel_reason: str | None
    title: str
    when: str
    where: str
    network: str | None
    working_group: str | None
    organised_by: str
    agenda: list[str] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)
    links: list[AnswerLinks] = field(default_factory=list)

    def text(self) -> str:
        lines = [line for line in (self.summary.strip(), self.reason) if line] + [""]
        if self.changes:
            lines += ["What changed:", *(f"  {change.text()}" for change in self.changes), ""]
        if self.cancel_reason is not None:
            lines += ["Reason given:", *(f"  {line}" for line in self.cancel_reason.splitlines()), ""]
        lines += [f"Meeting: {self.title}", f"When: {self.when}"]
        if self.where:
            lines.append(f"Where: {self.where}")
        if self.network:
            lines.append(f"Network: {self.network}")
        if self.working_group:
            lines.append(f"Working group: {self.working_group}")
        lines.append(f"Organised by: {self.organised_by}")
        if self.agenda:
            lines += ["", "Agenda:", *(f"  {i}. {item}" for i, item in enumerate(self.agenda, start=1))]
        for links in self.links:
            on_behalf = f" for {links.name}" if len(self.links) > 1 else ""
            lines += ["", f"Will you attend{on_behalf}? Answer with one of these links:"]
            lines += [f"  {label}: {url}" for label, url in links.answers]
            lines.append(f"The meeting's page{on_behalf}: {links.page}")
        lines += ["", "The meeting's calendar entry is attached (meeting.ics)."]
        lines += [line for note in self.footnotes for line in ("", note)]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        def user(text: str, tag: str = "span") -> str:
            return f'<{tag} dir="auto">{escape(text)}</{tag}>'

        def row(label: str, value: str) -> str:
            return f'<tr><th align="left" valign="top">{escape(label)}</th><td>{user(value)}</td></tr>'

        parts = [f"<p>{escape(line)}</p>" for line in self.summary.strip().splitlines() if line]
        parts.append(f"<p>{user(self.reason)}</p>")
        if self.changes:
            items = "".join(
                f"<li>{escape(c.label)}: now {user(c.now, 'strong')}</li>"
                if c.was is None
                else f"<li>{escape(c.label)}: was {user(c.was, 's')}, now {user(c.now, 'strong')}</li>"
                for c in self.changes
            )
            parts.append(f"<h2>What changed</h2><ul>{items}</ul>")
        if self.cancel_reason is not None:
            reason = "<br>".join(escape(line) for line in self.cancel_reason.splitlines())
            parts.append(f'<h2>Reason given</h2><p dir="auto">{reason}</p>')
        rows = [row("Meeting", self.title), row("When", self.when)]
        if self.where:
            rows.append(row("Where", self.where))
        if self.network:
            rows.append(row("Network", self.network))
        if self.working_group:
            rows.append(row("Working group", self.working_group))
        rows.append(row("Organised by", self.organised_by))
        parts.append(f"<table>{''.join(rows)}</table>")
        if self.agenda:
            parts.append(f"<h2>Agenda</h2><ol>{''.join(user(item, 'li') for item in self.agenda)}</ol>")
        for links in self.links:
            on_behalf = f" for {user(links.name)}" if len(self.links) > 1 else ""
            answers = " | ".join(f'<a href="{escape(url)}">{escape(label)}</a>' for label, url in links.answers)
            parts.append(
                f"<h2>Will you attend{on_behalf}?</h2><p>{answers}</p>"
                f'<p><a href="{escape(links.page)}">The meeting\'s page</a></p>'
            )
        parts.append("<p>The meeting's calendar entry is attached (meeting.ics).</p>")
        parts += [f'<p dir="auto"><small>{escape(note)}</small></p>' for note in self.footnotes]
        title = escape(self.title)
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<title dir="auto">{title}</title></head><body>{"".join(parts)}</body></html>\n'
        )


_GENERIC_REASON = "You get this e-mail as one of the meeting's invitees."


def meeting_message(
    payload: dict[str, Any],
    recipient: str,
    *,
    summary: str,
    book: PartyBook | None,
    footnotes: list[str],
    links: list[AnswerLinks] | None = None,
) -> MeetingMessage:
    """The message about ``payload``'s meeting for ``recipient``. Without a ``book`` (the
    parties read for the batch) the network, organiser and reason cannot be named, and the
    message says only what the event holds."""
    meeting = payload["meeting"]
    network = working_group = None
    reason = _GENERIC_REASON
    organised_by = "the network's secretariat"
    if book is not None:
        network = book.name_of(meeting.get("network_id"))
        working_group = book.name_of(meeting.get("working_group_id"))
        reasons = reasons_for(book, meeting, recipient)
        if reasons:
            invited = "You were invited as " if meeting.get("status") == "cancelled" else "You are invited as "
            reason = invited + "; and as ".join(reasons) + "."
        who, is_secretariat = organiser(book, meeting)
        role = ", the network's secretariat" if is_secretariat else ""
        organised_by = f"{who.name}{role} <{who.email}>"
    cancelled = meeting.get("status") == "cancelled"
    return MeetingMessage(
        summary=multi_line(summary),
        reason=single_line(reason),
        changes=what_changed(payload, book) if "changes" in payload and not cancelled else [],
        cancel_reason=multi_line(str(meeting.get("cancel_reason") or "No reason was given.")) if cancelled else None,
        title=single_line(str(meeting["title"])),
        when=meeting_times(meeting),
        where=_place(meeting),
        network=single_line(network) if network else None,
        working_group=single_line(working_group) if working_group else None,
        organised_by=single_line(organised_by),
        agenda=_agenda(meeting),
        footnotes=footnotes,
        links=[] if cancelled else list(links or []),
    )
