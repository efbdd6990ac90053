"""An invitation's pages in a real browser (headless Chromium), in English and in Arabic: the
meeting page and the answer's confirmation page render at desktop and phone width under their
own Content Security Policy, show the time in the reader's zone (the inline script, allowed by
its hash, ran), say nothing on the console, and pass axe-core (WCAG 2.1 AA); the Arabic pages
read right to left. The screenshots stay in test-artifacts/ for a person to look at."""

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.invitation_pages import HEADERS
from services.meetings.schemas import AgendaItem
from tests.browser import artifacts_dir, axe_violations, png_facts, run_chromium, screenshot
from tests.test_invitation_answers import _link_for, _meeting, clients  # noqa: F401 - the fixture

DESKTOP, PHONE = (1400, 1100), (390, 1400)


def _saved(html: str, name: str) -> Path:
    """The page as a file, with the policy its response header carries as a meta element (but
    frame-ancestors, which only a header can carry)."""
    policy = HEADERS["Content-Security-Policy"].replace("; frame-ancestors 'none'", "")
    page = artifacts_dir() / f"{name}.html"
    page.write_text(html.replace("<head>", f'<head><meta http-equiv="Content-Security-Policy" content="{policy}">', 1))
    return page


def _check(page: Path) -> str:
    """Screenshots at both widths, checked; the DOM Chromium built (in Tokyo's time zone)."""
    for width, window in (("1400", DESKTOP), ("390", PHONE)):
        png = page.with_name(f"{page.stem}-{width}.png")
        run = screenshot(page, png, window)
        assert run.problems() == [], run.stderr
        facts = png_facts(png)
        assert (facts.width, facts.height) == window and facts.distinct_bytes > 64, "blank screenshot"
    dom = run_chromium(page, "--dump-dom")
    assert dom.problems() == [], dom.stderr
    return dom.stdout


async def test_the_invitation_pages_render_cleanly_and_accessibly(clients, monkeypatch):  # noqa: F811
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # the reader's zone, as Chromium reads it
    meeting = await _meeting(
        datetime.now(UTC).replace(microsecond=0) + timedelta(days=20),
        online_url="https://meet.example.org/annual",
        agenda=[
            AgendaItem(title="Opening"),
            AgendaItem(title="الترحيب والافتتاح"),  # right to left
            AgendaItem(title="A very long agenda item title " * 6),
        ],
    )
    page = await _link_for(meeting, "ANS-ILO")
    pages = []
    for language, direction in (("en", "ltr"), ("ar", "rtl")):
        shown = await clients["person"].get(page, params={"lang": language})
        confirm = await clients["person"].get(f"{page}/reply", params={"answer": "accepted", "lang": language})
        assert shown.status_code == 200 and confirm.status_code == 200
        for response in (shown, confirm):
            assert response.headers["content-language"] == language
            assert f'<html lang="{language}" dir="{direction}">' in response.text
        pages += [
            _saved(shown.text, f"invitation-meeting-page-{language}"),
            _saved(confirm.text, f"invitation-answer-page-{language}"),
        ]
    assert "قبول" in confirm.text and "أكّد ردك" in confirm.text  # the Arabic words, not English ones
    for saved in pages:
        dom = await asyncio.to_thread(_check, saved)
        times = re.findall(r"<time[^>]*>([^<]*)</time>", dom)
        assert times and all(t.endswith("(Asia/Tokyo)") for t in times), times  # the script ran
    for width in (DESKTOP[0], PHONE[0]):
        found = await asyncio.to_thread(axe_violations, pages, width)
        assert found == {saved.name: [] for saved in pages}, (width, found)


@pytest.mark.parametrize("zone", ["UTC"])
def test_without_scripts_the_time_reads_in_utc(zone):
    """The fallback the server writes: the meeting's time in UTC, named (shown in the browser
    until, or unless, the script replaces it)."""
    from api.invitation_pages import _when

    starts = datetime(2027, 1, 12, 13, 0, tzinfo=UTC)
    html = _when({"starts_at": starts, "ends_at": starts + timedelta(hours=3), "time_zone": "Europe/Zurich"})
    assert "14:00\u201317:00 Europe/Zurich" in html
    assert f">Tuesday 12 January 2027, 13:00\u201316:00 {zone}</time>" in html
