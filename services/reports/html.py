"""The report as one HTML page for reading and printing: a header with the network and the
period, then each section as a captioned table (with its chart, if it has one), a page break
between sections in print. Self-contained: inline CSS and SVG, no script, nothing fetched.

Every value goes through ``escape``: names and titles come from users."""

from collections.abc import Callable
from html import escape
from typing import Any

from services.reports.charts import coverage_chart, membership_chart
from services.reports.sections import SECTIONS, Section
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
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1a1a1a; margin: 0 auto; max-width: 1100px; padding: 24px 32px; }
header { border-bottom: 3px solid #1f4e79; margin-bottom: 24px; padding-bottom: 12px; }
header .kicker { color: #1f4e79; font-weight: 600; letter-spacing: .04em; margin: 0; text-transform: uppercase; }
h1 { font-size: 26px; margin: 4px 0; }
h2 { border-bottom: 1px solid #c8c8c8; font-size: 19px; margin: 32px 0 6px; padding-bottom: 4px; }
.period { font-size: 16px; margin: 0; }
.generated, .description { color: #555; margin: 2px 0 10px; }
nav ol { columns: 2; margin: 8px 0 0; padding-left: 20px; }
nav a { color: #1f4e79; }
table { border-collapse: collapse; margin: 8px 0 16px; width: 100%; }
caption { caption-side: top; font-weight: 600; padding: 4px 0; text-align: left; }
th, td { border-bottom: 1px solid #e0e0e0; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef3f8; border-bottom: 2px solid #1f4e79; font-weight: 600; }
td.num, th.num { font-variant-numeric: tabular-nums; text-align: right; }
tbody tr:nth-child(even) { background: #fafafa; }
.empty { color: #555; font-style: italic; }
svg.chart { display: block; height: auto; margin: 8px 0; max-width: 100%; }
footer { border-top: 1px solid #c8c8c8; color: #555; font-size: 12px; margin-top: 32px; padding-top: 8px; }
@page { margin: 16mm 14mm; size: A4; }
@media print {
  body { font-size: 10pt; max-width: none; padding: 0; }
  nav { display: none; }
  section + section { break-before: page; }
  h2 { margin-top: 0; }
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
LABELS = {"mou_areas": "MoU areas", "reference_number": "Reference"}


def _label(column: str) -> str:
    return escape(LABELS.get(column) or column.replace("_", " ").capitalize())


def _table(section: Section, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return f'<p class="empty">Nothing in this period ({escape(section.title.lower())}).</p>'
    numeric = {c for c in section.columns if any(_is_number(r[c]) for r in rows)}
    head = "".join(f'<th scope="col"{" class=num" if c in numeric else ""}>{_label(c)}</th>' for c in section.columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td{' class=num' if c in numeric else ''}>{_text(row[c])}</td>" for c in section.columns)
        + "</tr>"
        for row in rows
    )
    return (
        f"<table><caption>{escape(section.title)} ({len(rows)} rows)</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _section(section: Section, rows: list[dict[str, Any]]) -> str:
    chart = CHARTS[section.name](rows) if section.name in CHARTS and rows else ""
    return (
        f'<section id="{escape(section.name)}"><h2>{escape(section.title)}</h2>'
        f'<p class="description">{escape(section.description)}</p>{chart}{_table(section, rows)}</section>'
    )


def _footnotes(notes: list[str]) -> str:
    return "".join(f'<p class="footnote">{escape(note)}</p>' for note in notes)


def report_html(report: dict[str, Any]) -> str:
    network = report["network"]
    start, end = report["period"]["from"], report["period"]["to"]
    name = _text(network["name"])
    contents = "".join(f'<li><a href="#{escape(s.name)}">{escape(s.title)}</a></li>' for s in SECTIONS)
    sections = "".join(_section(s, report[s.name]) for s in SECTIONS)
    return f"""<!DOCTYPE html>
<html lang="en">
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
<h1>{name}</h1>
<p class="period">From {_text(start)} to {_text(end)}</p>
<p class="generated">Computed from the registry's records and event history at {_text(report["generated_at"])} (UTC).</p>
<nav aria-label="Sections"><ol>{contents}</ol></nav>
</header>
<main>{sections}</main>
<footer>{_footnotes(report["footnotes"])}Network id {_text(network["id"])}. Dates are ISO 8601; days run in UTC.</footer>
</body>
</html>
"""
