"""The report as one HTML page for reading and printing: a header with the network and the
period, a summary (key figures and what needs attention: services/reports/summary.py), then
each section as a captioned table (with its chart, if it has one), codes and indicator names
in words. In print the summary fills the first page and the sections flow after it, tables
repeating their header; on a phone each table and chart scrolls within itself.
Self-contained: inline CSS and SVG, no script, nothing fetched.

Every value goes through ``escape``: names and titles come from users."""

from collections.abc import Callable
from datetime import datetime
from html import escape
from typing import Any

from services.reports.charts import coverage_chart, membership_chart
from services.reports.sections import SECTIONS, Section
from services.reports.summary import attention, key_figures
from services.schemas import multi_line
from services.tables import plain

# Sent as a header by the API and repeated in the page, so a saved copy keeps it.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

# A section that also has a chart: its name → the function drawing it from its rows.
CHARTS: dict[str, Callable[[list[dict[str, Any]]], str]] = {
    "membership_over_time": membership_chart,
    "objective_coverage": coverage_chart,
}

STYLE = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans",
       "Noto Sans Arabic", "Noto Sans CJK SC", sans-serif;
       color: #1a1a1a; margin: 0 auto; max-width: 1100px; padding: 24px 32px; }
header { border-bottom: 3px solid #1f4e79; margin-bottom: 24px; padding-bottom: 12px; }
header .kicker { color: #1f4e79; font-weight: 600; letter-spacing: .04em; margin: 0; text-transform: uppercase; }
h1 { font-size: 26px; margin: 4px 0; }
h2 { border-bottom: 1px solid #c8c8c8; font-size: 19px; margin: 32px 0 6px; padding-bottom: 4px; }
.period { font-size: 16px; margin: 0; }
.generated, .description { color: #555; margin: 2px 0 10px; }
.summary h2 { margin-top: 8px; }
.attention { background: #fff6e5; border-inline-start: 4px solid #b35c00; margin: 8px 0 16px; padding: 8px 12px 8px 28px; }
.attention li { margin: 2px 0; }
.calm { color: #2d6a2d; }
nav ol { columns: 2; margin: 8px 0 0; padding-inline-start: 20px; }
nav a { color: #1f4e79; }
.table-wrap { margin: 8px 0 16px; max-width: 100%; overflow-x: auto; }
.chart-wrap { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
caption { caption-side: top; font-weight: 600; padding: 4px 0; text-align: start; }
caption .count { color: #555; font-weight: normal; }
th, td { border-bottom: 1px solid #e0e0e0; padding: 4px 8px; text-align: start; vertical-align: top; }
th { background: #eef3f8; border-bottom: 2px solid #1f4e79; font-weight: 600; }
tbody th { border-bottom: 1px solid #e0e0e0; }
td.num, th.num { font-variant-numeric: tabular-nums; text-align: end; }
td.date, th.num { white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafafa; }
.empty { color: #555; font-style: italic; }
svg.chart { display: block; height: auto; margin: 8px 0; max-width: 100%; }
footer { border-top: 1px solid #c8c8c8; color: #555; font-size: 12px; margin-top: 32px; padding-top: 8px; }
@media (max-width: 600px) {
  body { padding: 12px; }
  h1 { font-size: 21px; }
  nav ol { columns: 1; }
  svg.chart { min-width: 660px; }  /* labels stay legible; the chart scrolls within itself */
  table { min-width: 520px; }
  .figures table { font-size: 13px; min-width: 0; }
  .figures th, .figures td { padding: 4px 4px; }
}
@page { margin: 16mm 14mm; size: A4; }
@media print {
  body { font-size: 9.5pt; max-width: none; padding: 0; }
  nav { display: none; }
  .summary { break-after: page; }
  h2, caption, .description { break-after: avoid; }
  h2 { margin-top: 18px; }
  .table-wrap, .chart-wrap { overflow: visible; }
  thead { display: table-header-group; }
  tr, svg.chart { break-inside: avoid; }
  tbody tr:nth-child(even) { background: none; }
  a { color: inherit; text-decoration: none; }
}
"""


def _text(value: Any) -> str:
    return escape(multi_line(plain(value)))  # stored text may predate the text policy


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# Column headings that are not simply the column's name in words.
LABELS = {
    "mou_areas": "MoU areas",
    "reference_number": "Reference",
    "entity_acronym": "Entity",
    "entity_name": "Name",
    "label": "Change",
    "count": "Times",
    "value_at_start": "First day",
    "value_at_end": "Last day",
}

# Columns whose values are codes (a change, a status, a kind): shown in words.
CODED = frozenset({"change", "tier", "previous_tier", "role", "kind", "status", "coverage", "status_at_end"})
CODES = {
    "joined": "Joined",
    "left": "Left",
    "tier_changed": "Changed tier",
    "extended_membership": "Extended membership meeting",
    "core_membership": "Core membership meeting",
    "working_group": "Working group meeting",
    "yet_to_start": "Yet to start",
    "in_progress": "In progress",
    "held": "Held throughout",
    "uncovered": "Not covered",
}
# Where "held" means a meeting that took place rather than a post held throughout.
_MEETING_CODES = {"held": "Held"}

# The indicators' names in words (services.indicators); any other is spelled out from its name.
INDICATORS = {
    "membership.core": "Members in the core tier",
    "membership.extended": "Members in the extended tier",
    "membership.joined": "Joined in the twelve months before",
    "membership.left": "Left in the twelve months before",
    "membership.tier_changes": "Changed tier in the twelve months before",
    "working_groups.active": "Working groups active",
    "working_groups.seats.network_members": "Working group seats held by network members",
    "working_groups.seats.stakeholders": "Working group seats held by other stakeholders",
    "working_groups.without_current_chair": "Working groups without a chair",
    "working_groups.without_meeting_in_12_months": "Working groups that did not meet in twelve months",
    "mous.active": "MoUs in force",
    "mous.contested_objectives": "GCM objectives claimed by more than one MoU lead",
    "mous.expiring_within_90_days": "MoUs ending within 90 days",
    "mous.overdue_for_refresh": "MoUs overdue for their refresh",
    "mous.review_due_within_90_days": "MoU reviews due within 90 days",
    "gcm_objectives.contested": "GCM objectives claimed by more than one lead",
    "gcm_objectives.uncovered": "GCM objectives that nothing covers",
    "notifications.email_deliveries.attempted": "E-mails sent or tried",
    "notifications.email_deliveries.failed": "E-mails that could not be delivered",
    "notifications.email_deliveries.succeeded": "E-mails delivered",
    "notifications.endpoints_disabled": "Webhook receivers disabled",
    "notifications.webhook_deliveries.attempted": "Webhook notifications sent or tried",
    "notifications.webhook_deliveries.failed": "Webhook notifications that failed",
    "notifications.webhook_deliveries.succeeded": "Webhook notifications delivered",
    "annual_meeting_rule.due_by": "Annual meeting with stakeholders due by",
    "annual_meeting_rule.last_met_on": "Annual meeting last held on",
    "annual_meeting_rule.met": "Annual meeting rule met",
    "annual_meeting_rule.state": "Annual meeting rule",
}


def _spelled(code: str) -> str:
    words = code.replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _label(column: str) -> str:
    return escape(LABELS.get(column) or column.replace("_", " ").capitalize())


def _is_date(column: str) -> bool:
    return column in ("date", "reviewed_from", "published_on") or column.endswith(("_date", "_on", "_since"))


def _cell(section: Section, column: str, value: Any, numeric: bool) -> str:
    if numeric:
        return f'<td class="num">{_text(value)}</td>'
    if _is_date(column):
        return f'<td class="date">{_text(value)}</td>'
    if column == "indicator" and isinstance(value, str):
        return f"<td>{escape(INDICATORS.get(value) or _spelled(value))}</td>"
    if column in CODED and isinstance(value, str):
        codes = _MEETING_CODES if section.name == "meetings" else {}
        return f"<td>{escape(codes.get(value) or CODES.get(value) or _spelled(value))}</td>"
    # Names and titles come from users, in any script: each cell finds its own direction.
    return f'<td dir="auto">{_text(value)}</td>'


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _table(section: Section, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return f'<p class="empty">Nothing in this period ({escape(section.title.lower())}).</p>'
    columns = section.shown
    numeric = {c for c in columns if any(_is_number(r[c]) for r in rows)}
    head = "".join(f'<th scope="col"{" class=num" if c in numeric else ""}>{_label(c)}</th>' for c in columns)
    body = "".join("<tr>" + "".join(_cell(section, c, row[c], c in numeric) for c in columns) + "</tr>" for row in rows)
    title = escape(section.title)
    return (
        f'<div class="table-wrap" role="region" aria-label="{title}" tabindex="0">'
        f'<table><caption>{title} <span class="count">({_rows(len(rows))})</span></caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _section(section: Section, rows: list[dict[str, Any]]) -> str:
    chart = CHARTS[section.name](rows) if section.name in CHARTS and rows else ""
    if chart:
        label = escape(f"{section.title}, chart")
        chart = f'<div class="chart-wrap" role="region" aria-label="{label}" tabindex="0">{chart}</div>'
    return (
        f'<section id="{escape(section.name)}"><h2>{escape(section.title)}</h2>'
        f'<p class="description">{escape(section.description)}</p>{chart}{_table(section, rows)}</section>'
    )


def _summary(report: dict[str, Any]) -> str:
    start, end = _text(report["period"]["from"]), _text(report["period"]["to"])
    figures = "".join(
        f'<tr><th scope="row">{escape(f.label)}</th><td class="num">{_text(f.at_start)}</td>'
        f'<td class="num">{_text(f.at_end)}</td><td class="num">{escape(f.change)}</td></tr>'
        for f in key_figures(report)
    )
    notes = attention(report)
    needs = (
        '<ul class="attention">' + "".join(f"<li>{escape(note)}</li>" for note in notes) + "</ul>"
        if notes
        else f'<p class="calm">Nothing needs attention on {end}.</p>'
    )
    return (
        '<section class="summary" id="summary"><h2>Summary</h2>'
        f'<div class="figures table-wrap" role="region" aria-label="Key figures" tabindex="0"><table>'
        f"<caption>Key figures</caption>"
        f'<thead><tr><th scope="col">Figure</th><th scope="col" class="num">{start}</th>'
        f'<th scope="col" class="num">{end}</th><th scope="col" class="num">Change</th></tr></thead>'
        f"<tbody>{figures}</tbody></table></div>"
        f"<h3>Needs attention on {end}</h3>{needs}</section>"
    )


def _when(moment: datetime) -> str:
    return escape(f"{moment:%Y-%m-%d} at {moment:%H:%M} UTC")


def _footnotes(notes: list[str]) -> str:
    return "".join(f'<p class="footnote">{escape(note)}</p>' for note in notes)


def report_html(report: dict[str, Any]) -> str:
    network = report["network"]
    start, end = report["period"]["from"], report["period"]["to"]
    name = _text(network["name"])
    contents = '<li><a href="#summary">Summary</a></li>' + "".join(
        f'<li><a href="#{escape(s.name)}">{escape(s.title)}</a></li>' for s in SECTIONS
    )
    sections = "".join(_section(s, report[s.name]) for s in SECTIONS)
    return f"""<!DOCTYPE html>
<html lang="en" dir="ltr">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{escape(CONTENT_SECURITY_POLICY)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Activity report: {name}, {_text(start)} to {_text(end)}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<p class="kicker">Migration Network Registry · Activity report</p>
<h1><bdi>{name}</bdi></h1>
<p class="period">From {_text(start)} to {_text(end)}</p>
<p class="generated">Computed from the registry's records and history on {_when(report["generated_at"])}.</p>
<nav aria-label="Sections"><ol>{contents}</ol></nav>
</header>
<main>{_summary(report)}{sections}</main>
<footer>{_footnotes(report["footnotes"])}Dates are written year-month-day; days run in UTC.</footer>
</body>
</html>
"""
