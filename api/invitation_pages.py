"""The HTML pages an invitation's links open (api.invitations): the meeting as its invitee
sees it, the confirmation of an answer, the answer recorded, and a refused link, in the
reader's language (``Localizer``: its words, dates and times; ``<html lang dir>``, Arabic
right to left). Every stored text is user text: escaped, on one line where a line is
expected, and ``dir="auto"`` (a right-to-left title reads right). The pages load nothing
from elsewhere; one inline script, allowed by its hash, shows the times in the reader's own
time zone and the page's language (UTC without it)."""

import base64
import hashlib
import zoneinfo
from datetime import UTC, datetime
from html import escape
from typing import Any

from fastapi.responses import HTMLResponse

from services.errors import DomainError
from services.locales import DEFAULT_LANGUAGE, N_, Localizer, localizer
from services.mail.meeting_message import LABELED, local_times
from services.meetings.links import ANSWERS
from services.schemas import single_line

ENGLISH = localizer(DEFAULT_LANGUAGE)

# Formats each <time data-local> in the reader's zone and the page's language; without
# scripts the UTC text stays.
_SCRIPT = (
    "var l=document.documentElement.lang;l=l==='en'?'en-GB':l;"
    "document.querySelectorAll('time[data-local]').forEach(function(t){"
    "var s=new Date(t.dataset.start),e=new Date(t.dataset.end);"
    "var o={weekday:'long',day:'numeric',month:'long',year:'numeric',hour:'2-digit',minute:'2-digit'};"
    "var z=Intl.DateTimeFormat().resolvedOptions().timeZone;"
    "t.textContent=s.toLocaleString(l,o)+' \\u2013 '+e.toLocaleString(l,o)+' ('+z+')';});"
)
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1b1f23;line-height:1.5}"
    "main{max-width:44rem;margin:0 auto;padding:1.5rem 1rem;background:#fff;min-height:100vh;box-sizing:border-box}"
    "h1{font-size:1.6rem;margin:.2rem 0 1rem;overflow-wrap:anywhere}h2{font-size:1.15rem;margin-top:1.5rem}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem}dt{font-weight:600}"
    "dd{margin:0;overflow-wrap:anywhere}a{color:#0b4f8a}.notice{padding:.75rem 1rem;border-radius:.3rem;"
    "background:#fdf0d5;border:1px solid #8a5a00}.answers{display:flex;flex-wrap:wrap;gap:.5rem;padding:0;"
    "list-style:none}.answers a,button{display:inline-block;padding:.55rem 1rem;border-radius:.3rem;"
    "background:#0b4f8a;color:#fff;text-decoration:none;border:0;font-size:1rem;cursor:pointer}"
    "p.small{font-size:.9rem;color:#444}"
)
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# The token is in the address: no Referer may carry it to the online meeting's site.
HEADERS = {
    "Content-Security-Policy": _CSP,
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}
ANSWERED = {"accepted": N_("Accepted"), "tentative": N_("Tentative"), "declined": N_("Declined")}


def _user(text: Any, tag: str = "span") -> str:
    return f'<{tag} dir="auto">{escape(single_line(str(text)))}</{tag}>'


def _page(title: str, body: str, loc: Localizer, *, status: int = 200) -> HTMLResponse:
    html = (
        f'<!DOCTYPE html><html lang="{loc.language}" dir="{loc.direction}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(single_line(title))}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main><script>{_SCRIPT}</script></body></html>\n"
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS | {"Content-Language": loc.language})


def _as_time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _when(meeting: dict[str, Any], loc: Localizer = ENGLISH) -> str:
    """The meeting's time in its own zone, and in the reader's (UTC until the script runs)."""
    starts, ends = _as_time(meeting["starts_at"]), _as_time(meeting["ends_at"])
    utc = local_times({**meeting, "time_zone": "UTC"}, loc)
    zone = zoneinfo.ZoneInfo(str(meeting["time_zone"]))
    when, yours = escape(loc.gettext("When")), escape(loc.gettext("Your time"))
    return (
        f"<dt>{when}</dt><dd>{escape(local_times(meeting, loc))}</dd>"
        f"<dt>{yours}</dt>"
        f'<dd><time data-local datetime="{starts.astimezone(UTC).isoformat()}" '
        f'data-start="{starts.astimezone(zone).isoformat()}" data-end="{ends.astimezone(zone).isoformat()}">'
        f"{escape(utc)}</time></dd>"
    )


def _details(meeting: dict[str, Any], loc: Localizer) -> str:
    _ = loc.gettext
    rows = [_when(meeting, loc)]
    if meeting.get("location"):
        where = escape(_("Where"))
        rows.append(f"<dt>{where}</dt><dd>{_user(meeting['location'])}</dd>")
    if meeting.get("online_url"):
        url = escape(single_line(str(meeting["online_url"])))
        online = escape(_("Online"))
        rows.append(f'<dt>{online}</dt><dd><a href="{url}" rel="noreferrer noopener" dir="ltr">{url}</a></dd>')
    agenda = meeting.get("agenda") or []
    # The direction on the text, not the item: a right-to-left title keeps its number in place.
    items = "".join(f"<li>{_user(item['title'])}</li>" for item in agenda)
    agenda_heading = "<h2>" + escape(_("Agenda")) + "</h2>"
    return f"<dl>{''.join(rows)}</dl>" + (f"{agenda_heading}<ol>{items}</ol>" if items else "")


def _words(loc: Localizer, message: str, **values: str) -> str:
    """A translated message, escaped, with ``values`` (already HTML) put in."""
    return escape(loc.gettext(message)).format(**values)


def _invitation_for(invitee: dict[str, Any], loc: Localizer) -> str:
    entity = invitee.get("entity")
    name = entity["name"] if entity else invitee.get("name")
    if not name:
        return "<p>" + escape(loc.gettext("Your invitation")) + "</p>"
    return "<p>" + _words(loc, N_("Invitation for {name}"), name=_user(name)) + "</p>"


def _your_answer(invitee: dict[str, Any], loc: Localizer) -> str:
    answer = invitee.get("answer")
    if answer is None:
        return "<p>" + escape(loc.gettext("You have not answered yet.")) + "</p>"
    strong = f"<strong>{escape(loc.gettext(ANSWERED[answer]))}</strong>"
    return "<p>" + _words(loc, N_("Your answer: {answer}."), answer=strong) + "</p>"


def _titled(loc: Localizer, label: str, meeting: dict[str, Any]) -> str:
    return loc.gettext(LABELED).format(label=loc.gettext(label), value=single_line(str(meeting["title"])))


def meeting_page(
    meeting: dict[str, Any], invitee: dict[str, Any], *, page_url: str, answerable: bool, loc: Localizer = ENGLISH
) -> HTMLResponse:
    """The meeting as ``invitee`` sees it: no other invitee, no address. ``page_url`` is the
    page's own address; its links keep the page's language (``?lang=``)."""
    _ = loc.gettext
    parts = [_invitation_for(invitee, loc), _user(meeting["title"], "h1")]
    if meeting["status"] == "cancelled":
        reason = meeting.get("cancel_reason") or _("No reason was given.")
        notice = _words(loc, N_("This meeting was cancelled: {reason}"), reason=_user(reason))
        parts.append(f'<p class="notice" role="status">{notice}</p>')
    parts.append(_details(meeting, loc))
    parts.append("<h2>" + escape(_("Your answer")) + "</h2>" + _your_answer(invitee, loc))
    language = f"lang={loc.language}"
    if answerable:
        links = "".join(
            f'<li><a href="{escape(page_url)}/reply?answer={answer}&amp;{language}">{escape(_(label))}</a></li>'
            for answer, label in ANSWERS.items()
        )
        label = escape(_("Answer"))
        parts.append(f'<ul class="answers" aria-label="{label}">{links}</ul>')
    download = escape(_("Download the calendar file (meeting.ics)"))
    parts.append(f'<p><a href="{escape(page_url)}/meeting.ics?{language}">{download}</a></p>')
    alone = _(
        "This page was sent to you alone: whoever holds its address can see this "
        "meeting and answer for you, so do not forward it."
    )
    parts.append(f'<p class="small">{escape(alone)}</p>')
    return _page(single_line(str(meeting["title"])), "".join(parts), loc)


def confirm_page(
    meeting: dict[str, Any], invitee: dict[str, Any], *, answer: str, action: str, loc: Localizer = ENGLISH
) -> HTMLResponse:
    """The page an answer's link opens: it changes nothing until its button is pressed."""
    _ = loc.gettext
    label = _(ANSWERS[answer])
    parts = [
        _invitation_for(invitee, loc),
        _user(meeting["title"], "h1"),
        _details(meeting, loc),
        "<h2>" + escape(_("Confirm your answer")) + "</h2>",
        _your_answer(invitee, loc),
        f'<form method="post" action="{escape(action)}"><button type="submit">{escape(label)}</button></form>',
        '<p class="small">' + escape(_("Nothing is recorded until you press the button.")) + "</p>",
    ]
    return _page(_titled(loc, ANSWERS[answer], meeting), "".join(parts), loc)


def answered_page(
    meeting: dict[str, Any], invitee: dict[str, Any], *, page_url: str, loc: Localizer = ENGLISH
) -> HTMLResponse:
    """The answer, recorded."""
    _ = loc.gettext
    strong = f"<strong>{escape(_(ANSWERED[str(invitee['answer'])]))}</strong>"
    back = escape(_("Back to the meeting"))
    parts = [
        _invitation_for(invitee, loc),
        _user(meeting["title"], "h1"),
        '<p role="status">'
        + _words(loc, N_("Thank you: your answer is recorded as {answer}."), answer=strong)
        + "</p>",
        _details(meeting, loc),
        f'<p><a href="{escape(page_url)}?lang={loc.language}">{back}</a> '
        + escape(_("You may change your answer there."))
        + "</p>",
    ]
    return _page(_titled(loc, N_("Answer recorded"), meeting), "".join(parts), loc)


CANNOT_BE_USED = N_("This link cannot be used")
REFUSAL_TITLES = {
    403: N_("This link is not valid"),
    409: N_("This invitation cannot be answered"),
    410: N_("This link no longer works"),
}


def refusal_page(refusal: DomainError, loc: Localizer = ENGLISH) -> HTMLResponse:
    """A link that cannot be used, and why, with the status that says so."""
    title = loc.gettext(REFUSAL_TITLES.get(refusal.status, CANNOT_BE_USED))
    body = f"<h1>{escape(title)}</h1><p>{escape(loc.gettext(refusal.detail))}</p>"
    return _page(title, body, loc, status=refusal.status)
