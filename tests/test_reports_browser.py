"""The HTML activity report in a real browser (headless Chromium): it renders, draws its two
charts, says nothing on the console and loads nothing. The harness is checked first on pages
that must fail it, so a clean result means something."""

import asyncio
import re
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from services.clock import add_months
from services.locales import localizer
from tests.browser import (
    WINDOW,
    artifacts_dir,
    axe_violations,
    pdf_pages,
    png_facts,
    print_pdf,
    run_chromium,
    screenshot,
)
from tests.test_reports import MALICIOUS, PERIOD, build_history

PHONE = (390, 2400)
WIDE = (1400, 2400)
CSP_META = (
    '<meta http-equiv="Content-Security-Policy" '
    "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
)


def _page(tmp_path: Path, name: str, head: str, body: str) -> Path:
    page = tmp_path / f"{name}.html"
    page.write_text(
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"
    )
    return page


def test_the_harness_catches_console_output_and_failed_loads(tmp_path):
    clean = screenshot(_page(tmp_path, "clean", CSP_META, "<p>Fine.</p>"), tmp_path / "clean.png")
    assert clean.problems() == [], clean.stderr

    noisy = screenshot(
        _page(tmp_path, "noisy", "", '<p>x</p><script>console.error("boom")</script>'), tmp_path / "noisy.png"
    )
    assert noisy.problems(), noisy.stderr
    assert any('"boom"' in line for line in noisy.console_messages)

    loads = screenshot(
        _page(tmp_path, "loads", CSP_META, '<img src="missing.png"><img src="http://127.0.0.1:9/x.png">'),
        tmp_path / "loads.png",
    )
    assert [("missing.png" in m, "127.0.0.1:9" in m) for m in loads.console_messages] == [(True, False), (False, True)]


def test_the_accessibility_check_finds_what_it_must(tmp_path):
    """A page with an unlabelled image, a table header with no text and grey-on-white text
    fails axe-core; a plain page passes it."""
    bad = _page(
        tmp_path,
        "bad",
        "<title>Bad</title>",
        '<main><img src="data:,"><p style="color:#ccc">faint</p><table><tr><th></th></tr><tr><td>1</td></tr></table></main>',
    )
    good = _page(tmp_path, "good", "<title>Good</title>", "<main><h1>Fine</h1><p>Readable.</p></main>")
    found = axe_violations([bad, good], WINDOW[0])
    assert {v["id"] for v in found["bad.html"]} >= {"image-alt", "color-contrast"}, found
    assert found["good.html"] == []


def _render(html: str, name: str = "activity-report", window: tuple[int, int] = WINDOW, language: str = "en") -> str:
    """Screenshot and DOM of the report page, checked; the files stay in the artefacts
    directory. Returns the DOM Chromium built."""
    out = artifacts_dir()
    page = out / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    png = out / f"{name}.png"
    run = screenshot(page, png, window)
    (out / f"{name}.chromium.log").write_text(run.stderr)
    assert run.problems() == [], run.stderr
    facts = png_facts(png)
    assert (facts.width, facts.height) == window
    assert facts.distinct_bytes > 64, "the screenshot looks blank"

    dom = run_chromium(page, "--dump-dom")
    assert dom.problems() == [], dom.stderr
    charts = re.findall(r'<svg [^>]*class="chart".*?</svg>', dom.stdout, flags=re.S)
    assert len(charts) == 2
    membership, coverage = charts
    words = localizer(language)
    assert f"<title>{words.gettext('Membership over time')}</title>" in membership
    assert membership.count("<rect") >= 2 * 12
    assert f"<title>{words.gettext('GCM objective coverage')}</title>" in coverage and coverage.count("<g>") == 23
    assert "<script" not in dom.stdout
    return dom.stdout


async def test_the_html_report_renders_cleanly_in_chromium(client, session):
    history = await build_history(session)
    response = await client.get(
        f"/v1/networks/{history['network']['id']}/reports/activity", params=PERIOD, headers={"Accept": "text/html"}
    )
    assert response.status_code == 200, response.text
    # Nothing to fetch: no URL in src, href or CSS url() but in-page anchors and data: URLs.
    references = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)|url\(\s*["']?([^"')]+)""", response.text)
    assert [r for r in references if not any(v.startswith(("#", "data:")) for v in r if v)] == []
    dom = await asyncio.to_thread(_render, response.text)
    escaped = MALICIOUS.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert escaped in dom  # the name is text in the page, not markup


# The page's font stack names these faces; a missing one draws Arabic or Han as boxes.
SCRIPT_FONTS = {"ar": "Noto Sans Arabic", "zh": "Noto Sans CJK SC"}
# A4 pages Chromium prints the demo report on (the summary alone on the first).
PAGES = {"en": (3, 9), "fr": (3, 10), "ar": (3, 11), "zh": (3, 9)}


def _font_installed(family: str) -> bool:
    listed = subprocess.run(["fc-list", family, "family"], capture_output=True, text=True, check=False)
    return family in listed.stdout


@pytest.mark.parametrize("language", ["en", "fr", "ar", "zh"])
async def test_the_demo_networks_report_for_the_last_year_renders_in_chromium(client, session, language):
    """What `make run` shows, in four of the six languages (two scripts, both directions): the
    demo network's last twelve months, reviews included, at 1400 and 390 px and printed on
    A4, with no accessibility violation. The screenshots and PDFs stay for a person to look at."""
    from services.demo.service import load_demo_data

    if language in SCRIPT_FONTS:
        assert _font_installed(SCRIPT_FONTS[language]), (
            f"{SCRIPT_FONTS[language]} is not installed: apt-get install fonts-noto-core fonts-noto-cjk"
        )
    await load_demo_data(session)
    await session.flush()
    network = (await client.get("/v1/networks")).json()["items"][0]
    to = date.today()
    period = {"from": str(add_months(to, -12) + timedelta(days=1)), "to": str(to)}
    url = f"/v1/networks/{network['id']}/reports/activity"
    data = (await client.get(url, params=period)).json()
    assert [r["status"] for r in data["reviews"]] == ["completed", "scheduled"]
    assert len(data["recommendations"]) == 4 and data["meetings"] and data["membership_over_time"]
    response = await client.get(url, params=period, headers={"Accept": "text/html", "Accept-Language": language})
    assert response.status_code == 200, response.text
    assert response.headers["content-language"] == language
    name = f"demo-activity-report-{language}"
    dom = await asyncio.to_thread(_render, response.text, name, WIDE, language)
    words = localizer(language)
    assert words.gettext("Effectiveness reviews") in dom and words.gettext("Recommendations followed up") in dom
    assert f'<html lang="{language}" dir="{"rtl" if language == "ar" else "ltr"}">' in dom
    # At phone width, and printed on A4: the files stay for a person to look at.
    out = artifacts_dir()
    (out / f"{name}-1400.png").unlink(missing_ok=True)
    (out / f"{name}.png").rename(out / f"{name}-1400.png")
    phone = await asyncio.to_thread(screenshot, out / f"{name}.html", out / f"{name}-390.png", PHONE)
    assert phone.problems() == [], phone.stderr
    facts = png_facts(out / f"{name}-390.png")
    assert (facts.width, facts.height) == PHONE
    pdf = out / f"{name}.pdf"
    printed = await asyncio.to_thread(print_pdf, out / f"{name}.html", pdf)
    assert printed.problems() == [], printed.stderr
    # The summary on its own page, then the sections flowing (each on a new page took 11).
    low, high = PAGES[language]
    assert low <= pdf_pages(pdf) <= high, pdf_pages(pdf)
    # axe-core finds nothing against WCAG 2.1 AA, at desktop and at phone width.
    for width in (WIDE[0], PHONE[0]):
        found = await asyncio.to_thread(axe_violations, [out / f"{name}.html"], width)
        assert found == {f"{name}.html": []}, (width, found)
