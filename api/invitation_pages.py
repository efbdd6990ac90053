"""The HTML pages an invitation's links open (api.invitations): the meeting as its invitee
sees it, the confirmation of an answer, the answer recorded, and a refused link. Every stored
text is user text: escaped, on one line where a line is expected, and ``dir="auto"`` (a
right-to-left title reads right). The pages load nothing from elsewhere; one inline script,
allowed by its hash, shows the times in the reader's own time zone (UTC without it)."""

import base64
import hashlib
import zoneinfo
from datetime import UTC, datetime
from html import escape
from typing import Any

from fastapi.responses import HTMLResponse

from services.errors import DomainError
from services.mail.meeting_message import local_times
from services.meetings.links import ANSWERS
from services.schemas import single_line

# Formats each <time data-local> in the reader's zone; without scripts the UTC text stays.
_SCRIPT = (
    "document.querySelectorAll('time[data-local]').forEach(function(t){"
    "var s=new Date(t.dataset.start),e=new Date(t.dataset.end);"
    "var o={weekday:'long',day:'numeric',month:'long',year:'numeric',hour:'2-digit',minute:'2-digit'};"
    "var z=Intl.DateTimeFormat().resolvedOptions().timeZone;"
    "t.textContent=s.toLocaleString('en-GB',o)+' \\u2013 '+e.toLocaleString('en-GB',o)+' ('+z+')';});"
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
ANSWERED = {"accepted": "Accepted", "tentative": "Tentative", "declined": "Declined"}


def _user(text: Any, tag: str = "span") -> str:
    return f'<{tag} dir="auto">{escape(single_line(str(text)))}</{tag}>'


def _page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    html = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(single_line(title))}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main><script>{_SCRIPT}</script></body></html>\n"
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _as_time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _when(meeting: dict[str, Any]) -> str:
    """The meeting's time in its own zone, and in the reader's (UTC until the script runs)."""
    starts, ends = _as_time(meeting["starts_at"]), _as_time(meeting["ends_at"])
    utc = local_times({**meeting, "time_zone": "UTC"})
    zone = zoneinfo.ZoneInfo(str(meeting["time_zone"]))
    return (
        f"<dt>When</dt><dd>{escape(local_times(meeting))}</dd>"
        f'<dt>Your time</dt><dd><time data-local datetime="{starts.astimezone(UTC).isoformat()}" '
        f'data-start="{starts.astimezone(zone).isoformat()}" data-end="{ends.astimezone(zone).isoformat()}">'
        f"{escape(utc)}</time></dd>"
    )


def _details(meeting: dict[str, Any]) -> str:
    rows = [_when(meeting)]
    if meeting.get("location"):
        rows.append(f"<dt>Where</dt><dd>{_user(meeting['location'])}</dd>")
    if meeting.get("online_url"):
        url = escape(single_line(str(meeting["online_url"])))
        rows.append(f'<dt>Online</dt><dd><a href="{url}" rel="noreferrer noopener">{url}</a></dd>')
    agenda = meeting.get("agenda") or []
    # The direction on the text, not the item: a right-to-left title keeps its number in place.
    items = "".join(f"<li>{_user(item['title'])}</li>" for item in agenda)
    return f"<dl>{''.join(rows)}</dl>" + (f"<h2>Agenda</h2><ol>{items}</ol>" if items else "")


def _invitee_name(invitee: dict[str, Any]) -> str:
    entity = invitee.get("entity")
    return str(entity["name"] if entity else invitee.get("name") or "you")


def _your_answer(invitee: dict[str, Any]) -> str:
    answer = invitee.get("answer")
    if answer is None:
        return "<p>You have not answered yet.</p>"
    return f"<p>Your answer: <strong>{escape(ANSWERED[answer])}</strong>.</p>"


def meeting_page(meeting: dict[str, Any], invitee: dict[str, Any], *, page_url: str, answerable: bool) -> HTMLResponse:
    """The meeting as ``invitee`` sees it: no other invitee, no address."""
    parts = [f"<p>Invitation for {_user(_invitee_name(invitee))}</p>", _user(meeting["title"], "h1")]
    if meeting["status"] == "cancelled":
        reason = meeting.get("cancel_reason") or "No reason was given."
        parts.append(f'<p class="notice" role="status">This meeting was cancelled: {_user(reason)}</p>')
    parts.append(_details(meeting))
    parts.append("<h2>Your answer</h2>" + _your_answer(invitee))
    if answerable:
        links = "".join(
            f'<li><a href="{escape(page_url)}/reply?answer={answer}">{escape(label)}</a></li>'
            for answer, label in ANSWERS.items()
        )
        parts.append(f'<ul class="answers" aria-label="Answer">{links}</ul>')
    parts.append(f'<p><a href="{escape(page_url)}/meeting.ics">Download the calendar file (meeting.ics)</a></p>')
    parts.append(
        '<p class="small">This page was sent to you alone: whoever holds its address can see this '
        "meeting and answer for you, so do not forward it.</p>"
    )
    return _page(single_line(str(meeting["title"])), "".join(parts))


def confirm_page(meeting: dict[str, Any], invitee: dict[str, Any], *, answer: str, action: str) -> HTMLResponse:
    """The page an answer's link opens: it changes nothing until its button is pressed."""
    label = ANSWERS[answer]
    parts = [
        f"<p>Invitation for {_user(_invitee_name(invitee))}</p>",
        _user(meeting["title"], "h1"),
        _details(meeting),
        "<h2>Confirm your answer</h2>",
        _your_answer(invitee),
        f'<form method="post" action="{escape(action)}"><button type="submit">{escape(label)}</button></form>',
        '<p class="small">Nothing is recorded until you press the button.</p>',
    ]
    return _page(f"{label}: {single_line(str(meeting['title']))}", "".join(parts))


def answered_page(meeting: dict[str, Any], invitee: dict[str, Any], *, page_url: str) -> HTMLResponse:
    """The answer, recorded."""
    parts = [
        f"<p>Invitation for {_user(_invitee_name(invitee))}</p>",
        _user(meeting["title"], "h1"),
        f'<p role="status">Thank you: your answer is recorded as '
        f"<strong>{escape(ANSWERED[str(invitee['answer'])])}</strong>.</p>",
        _details(meeting),
        f'<p><a href="{escape(page_url)}">Back to the meeting</a> (you may change your answer there).</p>',
    ]
    return _page(f"Answer recorded: {single_line(str(meeting['title']))}", "".join(parts))


def refusal_page(refusal: DomainError) -> HTMLResponse:
    """A link that cannot be used, and why, with the status that says so."""
    titles = {
        403: "This link is not valid",
        409: "This invitation cannot be answered",
        410: "This link no longer works",
    }
    title = titles.get(refusal.status, "This link cannot be used")
    body = f"<h1>{escape(title)}</h1><p>{escape(refusal.detail)}</p>"
    return _page(title, body, status=refusal.status)
