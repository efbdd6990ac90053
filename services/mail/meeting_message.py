"""The body of a meeting's e-mail (an invitation, an updated invitation, a reminder, a
cancellation), as plain text and as HTML from the same parts: why the recipient gets it,
what changed (was → now), the reason a cancellation gives, the meeting, the network or
working group it belongs to and who organises it. Stored text is user text: single-line
where a line is expected, escaped in HTML and marked ``dir="auto"`` (a right-to-left title
reads right). Every word the registry adds, and every date and time, is written in the
recipient's language by the ``Localizer`` it is given (English by default)."""

import uuid
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any

from services.locales import N_, Localizer, localizer
from services.mail.parties import PartyBook, organiser, parse_time, reasons_for
from services.schemas import multi_line, single_line

EN_DASH = "\u2013"
# Fields of a meeting.updated event that change what the meeting says, in the order shown.
_TIME_FIELDS = ("starts_at", "ends_at", "time_zone")
_PLACE_FIELDS = ("location", "online_url")


ENGLISH = localizer("en")


DAY_AND_TIME = N_("{day}, {time}")


def _at(loc: Localizer, moment: datetime) -> str:
    """A day and a time, joined as the language joins them (``jeudi 14 janvier 2027, 14:00``)."""
    return loc.gettext(DAY_AND_TIME).format(day=loc.weekday_date(moment.date()), time=loc.clock_time(moment))


def _span(loc: Localizer, start: datetime, end: datetime, label: str, *, with_day: bool) -> str:
    first = _at(loc, start) if with_day else loc.clock_time(start)
    if start.date() == end.date():
        return f"{first}{EN_DASH}{loc.clock_time(end)} {label}"
    return f"{first} {EN_DASH} {_at(loc, end)} {label}"


def local_times(meeting: dict[str, Any], loc: Localizer = ENGLISH) -> str:
    """When, in the meeting's own time zone, named: "Tuesday 12 January 2027, 14:00-17:00
    Europe/Zurich", with an en dash; the day and times as ``loc``'s language writes them."""
    zone_name = str(meeting["time_zone"])
    zone = zoneinfo.ZoneInfo(zone_name)
    starts, ends = parse_time(meeting["starts_at"]), parse_time(meeting["ends_at"])
    return _span(loc, starts.astimezone(zone), ends.astimezone(zone), zone_name, with_day=True)


def meeting_times(meeting: dict[str, Any], loc: Localizer = ENGLISH) -> str:
    """When, for a person: in the meeting's own time zone, named, and in UTC —
    "Tuesday 12 January 2027, 14:00-17:00 Europe/Zurich (13:00-16:00 UTC)", with en dashes."""
    local = local_times(meeting, loc)
    if str(meeting["time_zone"]) in ("UTC", "Etc/UTC"):
        return local
    zone = zoneinfo.ZoneInfo(str(meeting["time_zone"]))
    starts, ends = parse_time(meeting["starts_at"]), parse_time(meeting["ends_at"])
    utc_start, utc_end = starts.astimezone(UTC), ends.astimezone(UTC)
    other_day = utc_start.date() != starts.astimezone(zone).date() or utc_start.date() != utc_end.date()
    return f"{local} ({_span(loc, utc_start, utc_end, 'UTC', with_day=other_day)})"


def _place(meeting: dict[str, Any]) -> str:
    return single_line(", ".join(str(p) for p in (meeting.get("location"), meeting.get("online_url")) if p))


def _agenda(meeting: dict[str, Any]) -> list[str]:
    return [single_line(str(item["title"])) for item in meeting.get("agenda") or []]


def _numbered(items: list[str], loc: Localizer) -> str:
    return "; ".join(f"{i}. {item}" for i, item in enumerate(items, start=1)) or loc.gettext("no agenda")


# The words a message puts before its values, translated where they are shown.
LABELED = N_("{label}: {value}")
WAS_NOW = N_("{label}: was {was}, now {now}")
NOW = N_("{label}: now {now}")


@dataclass(frozen=True)
class Change:
    """One thing a meeting.updated changed, as a person reads it: "Time: was …, now …".
    ``was`` is None where the event does not say (the invitee list)."""

    label: str  # in the reader's language
    was: str | None
    now: str

    def text(self, loc: Localizer = ENGLISH) -> str:
        if self.was is None:
            return loc.gettext(NOW).format(label=self.label, now=self.now)
        return loc.gettext(WAS_NOW).format(label=self.label, was=self.was, now=self.now)


def _invitee_names(invitees: list[dict[str, Any]], book: PartyBook | None, loc: Localizer) -> list[str]:
    """Invitees by name: as the meeting shows them, or as a request lists them (an entity by
    id, named from the ``book``)."""
    names = []
    for invitee in invitees:
        entity = invitee.get("entity") or {}
        entity_id = entity.get("id") or invitee.get("entity_id")
        found = book.invited.get(uuid.UUID(str(entity_id))) if book is not None and entity_id else None
        name = entity.get("name") or (found.name if found is not None else None) or invitee.get("name")
        names.append(single_line(str(name or loc.gettext("an entity no longer in the registry"))))
    return names


def what_changed(payload: dict[str, Any], book: PartyBook | None = None, loc: Localizer = ENGLISH) -> list[Change]:
    """The changes of a meeting.updated event worth telling an invitee, from its ``changes``
    (each field's value before and after): title, time, place, agenda, invitees (named from
    the ``book``; an event recorded before invitees carried their previous list shows only
    the new one)."""
    changes: dict[str, Any] = payload.get("changes") or {}
    now = payload["meeting"]
    was = {**now, **{name: change["before"] for name, change in changes.items() if isinstance(change, dict)}}
    found = []
    _ = loc.gettext
    if "title" in changes:
        found.append(Change(_("Title"), single_line(str(was["title"])), single_line(str(now["title"]))))
    if set(_TIME_FIELDS) & changes.keys():
        found.append(Change(_("Time"), local_times(was, loc), local_times(now, loc)))
    if set(_PLACE_FIELDS) & changes.keys():
        found.append(Change(_("Place"), _place(was) or _("none given"), _place(now) or _("none given")))
    if "agenda" in changes:
        found.append(Change(_("Agenda"), _numbered(_agenda(was), loc), _numbered(_agenda(now), loc)))
    if "invitees" in changes:
        now_names = _invitee_names(now["invitees"], book, loc)
        before = changes["invitees"].get("before")
        was_names = _invitee_names(before, book, loc) if isinstance(before, list) else None
        if was_names != now_names:
            was_text = None if was_names is None else ", ".join(was_names) or _("none")
            found.append(Change(_("Invitees"), was_text, ", ".join(now_names) or _("none")))
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
    """What a meeting's e-mail says, before it is written as text or HTML, in the language of
    ``loc`` (the summary, reason and changes arrive already written in it)."""

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
    loc: Localizer = ENGLISH

    def _rows(self) -> list[tuple[str, str]]:
        _ = self.loc.gettext
        rows = [(_("Meeting"), self.title), (_("When"), self.when)]
        if self.where:
            rows.append((_("Where"), self.where))
        if self.network:
            rows.append((_("Network"), self.network))
        if self.working_group:
            rows.append((_("Working group"), self.working_group))
        rows.append((_("Organised by"), self.organised_by))
        return rows

    def _will_you_attend(self, name: str | None) -> str:
        if name is None:
            return self.loc.gettext("Will you attend? Answer with one of these links:")
        return self.loc.gettext("Will you attend for {name}? Answer with one of these links:").format(name=name)

    def text(self) -> str:
        _ = self.loc.gettext
        lines = [line for line in (self.summary.strip(), self.reason) if line] + [""]
        if self.changes:
            lines += [_("What changed:"), *(f"  {change.text(self.loc)}" for change in self.changes), ""]
        if self.cancel_reason is not None:
            lines += [_("Reason given:"), *(f"  {line}" for line in self.cancel_reason.splitlines()), ""]
        lines += [_(LABELED).format(label=label, value=value) for label, value in self._rows()]
        if self.agenda:
            lines += ["", _("Agenda:"), *(f"  {i}. {item}" for i, item in enumerate(self.agenda, start=1))]
        for links in self.links:
            several = len(self.links) > 1
            lines += ["", self._will_you_attend(links.name if several else None)]
            lines += [f"  {label}: {url}" for label, url in links.answers]
            page = _("The meeting's page for {name}: {url}") if several else _("The meeting's page: {url}")
            lines.append(page.format(name=links.name, url=links.page))
        lines += ["", _("The meeting's calendar entry is attached (meeting.ics).")]
        lines += [line for note in self.footnotes for line in ("", note)]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        _ = self.loc.gettext

        def user(text: str, tag: str = "span") -> str:
            return f'<{tag} dir="auto">{escape(text)}</{tag}>'

        def words(message: str, **values: str) -> str:
            """A translated message, escaped, with ``values`` (already HTML) put in."""
            return escape(_(message)).format(**values)

        def row(label: str, value: str) -> str:
            return f'<tr><th scope="row" valign="top">{escape(label)}</th><td>{user(value)}</td></tr>'

        parts = [f"<p>{escape(line)}</p>" for line in self.summary.strip().splitlines() if line]
        parts.append(f"<p>{user(self.reason)}</p>")
        if self.changes:
            items = "".join(
                "<li>"
                + (
                    words(NOW, label=escape(c.label), now=user(c.now, "strong"))
                    if c.was is None
                    else words(WAS_NOW, label=escape(c.label), was=user(c.was, "s"), now=user(c.now, "strong"))
                )
                + "</li>"
                for c in self.changes
            )
            heading = escape(_("What changed"))
            parts.append(f"<h2>{heading}</h2><ul>{items}</ul>")
        if self.cancel_reason is not None:
            reason = "<br>".join(escape(line) for line in self.cancel_reason.splitlines())
            heading = escape(_("Reason given"))
            parts.append(f'<h2>{heading}</h2><p dir="auto">{reason}</p>')
        parts.append(f"<table>{''.join(row(label, value) for label, value in self._rows())}</table>")
        if self.agenda:
            heading = escape(_("Agenda"))
            # The direction on the text, not the item: in a right-to-left message a left-to-right
            # item keeps its number on the message's side.
            items = "".join(f"<li>{user(item)}</li>" for item in self.agenda)
            parts.append(f"<h2>{heading}</h2><ol>{items}</ol>")
        for links in self.links:
            heading = (
                words(N_("Will you attend for {name}?"), name=f"<bdi>{escape(links.name)}</bdi>")
                if len(self.links) > 1
                else escape(_("Will you attend?"))
            )
            answers = " | ".join(f'<a href="{escape(url)}">{escape(label)}</a>' for label, url in links.answers)
            page = escape(_("The meeting's page"))
            parts.append(f'<h2>{heading}</h2><p>{answers}</p><p><a href="{escape(links.page)}">{page}</a></p>')
        attached = escape(_("The meeting's calendar entry is attached (meeting.ics)."))
        parts.append(f"<p>{attached}</p>")
        parts += [f'<p dir="auto" lang="en"><small>{escape(note)}</small></p>' for note in self.footnotes]
        title = escape(self.title)
        language, direction = self.loc.language, self.loc.direction
        return (
            f'<!DOCTYPE html><html lang="{language}" dir="{direction}"><head><meta charset="utf-8">'
            f'<title dir="auto">{title}</title></head><body>{"".join(parts)}</body></html>\n'
        )


GENERIC_REASON = N_("You get this e-mail as one of the meeting's invitees.")


def meeting_message(
    payload: dict[str, Any],
    recipient: str,
    *,
    summary: str,
    book: PartyBook | None,
    footnotes: list[str],
    links: list[AnswerLinks] | None = None,
    loc: Localizer = ENGLISH,
) -> MeetingMessage:
    """The message about ``payload``'s meeting for ``recipient``, in ``loc``'s language.
    Without a ``book`` (the parties read for the batch) the network, organiser and reason
    cannot be named, and the message says only what the event holds."""
    _ = loc.gettext
    meeting = payload["meeting"]
    network = working_group = None
    reason = _(GENERIC_REASON)
    organised_by = _("the network's secretariat")
    if book is not None:
        network = book.name_of(meeting.get("network_id"), loc.language)
        working_group = book.name_of(meeting.get("working_group_id"), loc.language)
        reasons = reasons_for(book, meeting, recipient, loc)
        if reasons:
            invited = _("You were invited as {reasons}.") if meeting.get("status") == "cancelled" else None
            invited = invited or _("You are invited as {reasons}.")
            reason = invited.format(reasons=_("; and as ").join(reasons))
        who, is_secretariat = organiser(book, meeting)
        organised_by = (
            _("{name}, the network's secretariat <{email}>") if is_secretariat else _("{name} <{email}>")
        ).format(name=who.name, email=who.email)
    cancelled = meeting.get("status") == "cancelled"
    return MeetingMessage(
        summary=multi_line(summary),
        reason=single_line(reason),
        changes=what_changed(payload, book, loc) if "changes" in payload and not cancelled else [],
        cancel_reason=multi_line(str(meeting.get("cancel_reason") or _("No reason was given."))) if cancelled else None,
        title=single_line(str(meeting["title"])),
        when=meeting_times(meeting, loc),
        where=_place(meeting),
        network=single_line(network) if network else None,
        working_group=single_line(working_group) if working_group else None,
        organised_by=single_line(organised_by),
        agenda=_agenda(meeting),
        footnotes=footnotes,
        links=[] if cancelled else list(links or []),
        loc=loc,
    )
