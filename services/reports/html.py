"""The report as one HTML page for reading and printing: a header with the network and the
period, a summary (key figures and what needs attention: services/reports/summary.py), then
each section as a captioned table (with its chart, if it has one), codes and indicator names
in words. In print the summary fills the first page and the sections flow after it, tables
repeating their header; on a phone each table and chart scrolls within itself.
Self-contained: inline CSS and SVG, no script, nothing fetched.

Written in the reader's language (services/locales): the page's own words from the message
catalogues, the event catalogue's labels too, dates and numbers as the locale writes them,
country names from the reference data; ``lang`` and ``dir`` on the page (right to left for
Arabic), and text from records isolated (``dir="auto"``, ``<bdi>``) so a name in another
script keeps its own direction. The GCM objectives' titles are official texts held in
English only (services/gcm): they carry ``lang="en"``.

Every value goes through ``escape``: names and titles come from users."""

from collections.abc import Callable
from datetime import date, datetime
from html import escape
from typing import Any

from services.locales import N_, NP_, Localizer, localizer, translated
from services.reference.countries import countries
from services.reports.charts import coverage_chart, membership_chart
from services.reports.sections import SECTIONS, Section
from services.reports.summary import NO_CHANGE, attention, key_figures
from services.schemas import multi_line
from services.tables import plain

# Sent as a header by the API and repeated in the page, so a saved copy keeps it.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

# A section that also has a chart: its name → the function drawing it from its rows.
CHARTS: dict[str, Callable[[list[dict[str, Any]], Localizer], str]] = {
    "membership_over_time": membership_chart,
    "objective_coverage": coverage_chart,
}

STYLE = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans",
       "Noto Sans Arabic", "Noto Sans CJK SC", sans-serif;
       color: #1a1a1a; margin: 0 auto; max-width: 1100px; padding: 24px 32px; }
/* Han characters in their simplified Chinese forms; Arabic in a face drawn for it, its letters joined. */
html:lang(zh) body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
       system-ui, sans-serif; }
html:lang(ar) body { font-family: "Noto Sans Arabic", "Noto Naskh Arabic", "Segoe UI", Tahoma, "Geeza Pro",
       system-ui, sans-serif; line-height: 1.6; }
html:lang(ar) header .kicker { letter-spacing: 0; }
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
.attention { padding-inline: 28px 12px; }
nav a { color: #1f4e79; }
.table-wrap { margin: 8px 0 16px; max-width: 100%; overflow-x: auto; }
.chart-wrap { direction: ltr; max-width: 100%; overflow-x: auto; }  /* time runs left to right, in Arabic too */
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
  .figures td.num { white-space: nowrap; }
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


# Column headings, each in words (the catalogues translate them).
LABELS = {
    "date": N_("Date"),
    "entity_acronym": N_("Entity"),
    "entity_name": N_("Name"),
    "change": N_("Change"),
    "tier": N_("Tier"),
    "previous_tier": N_("Previous tier"),
    "core": N_("Core"),
    "extended": N_("Extended"),
    "role": N_("Role"),
    "start_date": N_("Start date"),
    "end_date": N_("End date"),
    "name": N_("Name"),
    "activated_on": N_("Activated on"),
    "closed_on": N_("Closed on"),
    "close_reason": N_("Close reason"),
    "meetings_held": N_("Meetings held"),
    "reference_number": N_("Reference"),
    "title": N_("Title"),
    "parties": N_("Parties"),
    "detail": N_("Detail"),
    "kind": N_("Kind"),
    "working_group": N_("Working group"),
    "status": N_("Status"),
    "invited": N_("Invited"),
    "attended": N_("Attended"),
    "external_participants": N_("External participants"),
    "label": N_("Change"),
    "count": N_("Times"),
    "number": N_("Number"),
    "reviewed_from": N_("Reviewed from"),
    "due_date": N_("Due date"),
    "lead": N_("Lead"),
    "started_on": N_("Started on"),
    "completed_on": N_("Completed on"),
    "overdue_since": N_("Overdue since"),
    "open": N_("Open"),
    "in_progress": N_("In progress"),
    "done": N_("Done"),
    "dropped": N_("Dropped"),
    "review_number": N_("Review number"),
    "recommendation": N_("Recommendation"),
    "owner": N_("Owner"),
    "status_changed_on": N_("Status changed on"),
    "dropped_reason": N_("Dropped reason"),
    "indicator": N_("Indicator"),
    "value_at_start": N_("First day"),
    "value_at_end": N_("Last day"),
    "objective": N_("Objective"),
    "coverage": N_("Coverage"),
    "working_groups": N_("Working groups"),
    "mou_areas": N_("MoU areas"),
    "working_group_names": N_("Working group names"),
    "lead_parties": N_("Lead parties"),
    "activities": N_("Activities"),
    "overdue": N_("Overdue"),
    "workplan": N_("Workplan"),
    "activity": N_("Activity"),
    "leads": N_("Leads"),
    "status_at_end": N_("Status at end"),
    "days_overdue": N_("Days overdue"),
    "published_on": N_("Published on"),
    "link": N_("Link"),
    "country_code": N_("Country code"),
    "country": N_("Country"),
    "pledges": N_("Pledges"),
    "overdue_at_end": N_("Overdue at end"),
    "pledger": N_("Pledger"),
}

# Columns whose values are codes (a change, a status, a kind): shown in words.
CODED = frozenset({"change", "tier", "previous_tier", "role", "kind", "status", "coverage", "status_at_end"})
CODES = {
    "joined": N_("Joined"),
    "left": N_("Left"),
    "tier_changed": N_("Changed tier"),
    "core": N_("Core"),
    "extended": N_("Extended"),
    "coordinator": N_("Coordinator"),
    "secretariat": N_("Secretariat"),
    "appointed": N_("Appointed"),
    "appointed and ended": N_("Appointed and ended"),
    "ended": N_("Ended"),
    "held": N_("Held throughout"),
    "established": N_("Established"),
    "established and closed": N_("Established and closed"),
    "closed": N_("Closed"),
    "active": N_("Active"),
    "signed": N_("Signed"),
    "activated": N_("Activated"),
    "refreshed": N_("Refreshed"),
    "superseded": N_("Superseded"),
    "expired": N_("Expired"),
    "terminated": N_("Terminated"),
    "extended_membership": N_("Extended membership meeting"),
    "core_membership": N_("Core membership meeting"),
    "executive_committee": N_("Executive Committee meeting"),
    "working_group": N_("Working group meeting"),
    "framing_conference": N_("Framing conference"),
    "other": N_("Other meeting"),
    "scheduled": N_("Scheduled"),
    "cancelled": N_("Cancelled"),
    "yet_to_start": N_("Yet to start"),
    "ongoing": N_("Ongoing"),
    "in_progress": N_("In progress"),
    "completed": N_("Completed"),
    "open": N_("Open"),
    "done": N_("Done"),
    "dropped": N_("Dropped"),
    "announced": N_("Announced"),
    "fulfilled": N_("Fulfilled"),
    "withdrawn": N_("Withdrawn"),
    "covered": N_("Covered"),
    "contested": N_("Contested"),
    "uncovered": N_("Not covered"),
    "started": N_("Started"),
    "started and ended": N_("Started and ended"),
    "serving": N_("Serving"),
    "met": N_("Met"),
    "at_risk": N_("At risk"),
    "overdue": N_("Overdue"),
}
# Where "held" means a meeting that took place rather than a post held throughout.
_MEETING_CODES = {"held": N_("Held")}
# Values an indicator may take besides numbers and days.
_VALUES = {True: N_("yes"), False: N_("no"), "yes": N_("yes"), "no": N_("no")}

# The indicators' names in words (services.indicators); any other is spelled out from its name.
INDICATORS = {
    "membership.core": N_("Members in the core tier"),
    "membership.extended": N_("Members in the extended tier"),
    "membership.joined": N_("Joined in the twelve months before"),
    "membership.left": N_("Left in the twelve months before"),
    "membership.tier_changes": N_("Changed tier in the twelve months before"),
    "working_groups.active": N_("Working groups active"),
    "working_groups.seats.network_members": N_("Working group seats held by network members"),
    "working_groups.seats.stakeholders": N_("Working group seats held by other stakeholders"),
    "working_groups.without_current_chair": N_("Working groups without a chair"),
    "working_groups.without_meeting_in_12_months": N_("Working groups that did not meet in twelve months"),
    "mous.active": N_("MoUs in force"),
    "mous.contested_objectives": N_("GCM objectives claimed by more than one MoU lead"),
    "mous.expiring_within_90_days": N_("MoUs ending within 90 days"),
    "mous.overdue_for_refresh": N_("MoUs overdue for their refresh"),
    "mous.review_due_within_90_days": N_("MoU reviews due within 90 days"),
    "gcm_objectives.contested": N_("GCM objectives claimed by more than one lead"),
    "gcm_objectives.uncovered": N_("GCM objectives that nothing covers"),
    "notifications.email_deliveries.attempted": N_("E-mails sent or tried"),
    "notifications.email_deliveries.failed": N_("E-mails that could not be delivered"),
    "notifications.email_deliveries.succeeded": N_("E-mails delivered"),
    "notifications.endpoints_disabled": N_("Webhook receivers disabled"),
    "notifications.webhook_deliveries.attempted": N_("Webhook notifications sent or tried"),
    "notifications.webhook_deliveries.failed": N_("Webhook notifications that failed"),
    "notifications.webhook_deliveries.succeeded": N_("Webhook notifications delivered"),
    "annual_meeting_rule.due_by": N_("Annual meeting with stakeholders due by"),
    "annual_meeting_rule.last_met_on": N_("Annual meeting last held on"),
    "annual_meeting_rule.met": N_("Annual meeting rule met"),
    "annual_meeting_rule.state": N_("Annual meeting rule"),
}

# A MoU change's detail, written by the report's query in English: its words and the reference.
_MOU_DETAILS = (("refreshes ", N_("refreshes {reference}")), ("superseded by ", N_("superseded by {reference}")))
ROWS = NP_("{count} row", "{count} rows")


def _spelled(code: str) -> str:
    words = code.replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _label(column: str, loc: Localizer) -> str:
    return escape(loc.gettext(LABELS[column]) if column in LABELS else _spelled(column))


def _is_date(column: str) -> bool:
    return column in ("date", "reviewed_from", "published_on") or column.endswith(("_date", "_on", "_since", "_by"))


def _day(value: Any, loc: Localizer) -> str | None:
    """A day (or a time, by its UTC day) as the locale writes it in a table; None for anything else."""
    if isinstance(value, datetime):
        return loc.day(value.date())
    if isinstance(value, date):
        return loc.day(value)
    if isinstance(value, str) and len(value) == 10:
        try:
            return loc.day(date.fromisoformat(value))
        except ValueError:
            return None
    return None


def _value(value: Any, loc: Localizer) -> str:
    """An indicator's value: a number, a day, yes or no, or a state, in the reader's words."""
    if _is_number(value):
        return f'<td class="num">{escape(loc.number(value))}</td>'
    day = _day(value, loc)
    if day is not None:
        return f'<td class="date">{escape(day)}</td>'
    if isinstance(value, bool | str) and value in _VALUES:
        return f"<td>{escape(loc.gettext(_VALUES[value]))}</td>"
    if isinstance(value, str) and value in CODES:
        return f"<td>{escape(loc.gettext(CODES[value]))}</td>"
    return f'<td dir="auto">{_text(value)}</td>'


def _mou_detail(value: str, loc: Localizer) -> str:
    for prefix, message in _MOU_DETAILS:
        if value.startswith(prefix):
            reference = f"<bdi>{_text(value.removeprefix(prefix))}</bdi>"
            return escape(loc.gettext(message)).replace("{reference}", reference)
    return f"<bdi>{_text(value)}</bdi>"


def _lang(language: str, loc: Localizer) -> str:
    """A ``lang`` attribute for text not in the page's language (an untranslated name)."""
    return f' lang="{language}"' if language != loc.language else ""


# Names of records that may carry translations: the column, and the row's key holding them.
_TRANSLATED_NAMES = {
    ("working_groups", "name"): "translations",
    ("meetings", "working_group"): "working_group_translations",
}


def _cell(section: Section, column: str, row: dict[str, Any], numeric: bool, loc: Localizer) -> str:
    value = row[column]
    if value is None:
        return "<td></td>"
    if (
        section.name == "objective_coverage"
        and column == "working_group_names"
        and row.get("working_group_translations")
    ):
        names = [
            translated(g["name"], g["translations"], "name", loc.language) for g in row["working_group_translations"]
        ]
        return "<td>" + "; ".join(f"<bdi{_lang(lang, loc)}>{_text(text)}</bdi>" for text, lang in names) + "</td>"
    if (section.name, column) in _TRANSLATED_NAMES:
        text, language = translated(value, row.get(_TRANSLATED_NAMES[section.name, column]), "name", loc.language)
        return f'<td dir="auto"{_lang(language, loc)}>{_text(text)}</td>'
    if section.name == "indicators" and column in ("value_at_start", "value_at_end"):
        return _value(value, loc)
    if numeric and _is_number(value):
        return f'<td class="num">{escape(loc.number(value))}</td>'
    if _is_date(column):
        day = _day(value, loc)
        return f'<td class="date">{escape(day) if day is not None else _text(value)}</td>'
    if column == "indicator" and isinstance(value, str):
        return f"<td>{escape(loc.gettext(INDICATORS[value]) if value in INDICATORS else _spelled(value))}</td>"
    if column in CODED and isinstance(value, str):
        codes = _MEETING_CODES if section.name == "meetings" else {}
        words = codes.get(value) or CODES.get(value)
        return f"<td>{escape(loc.gettext(words) if words else _spelled(value))}</td>"
    if column == "label" and section.name == "record_changes":
        return f"<td>{escape(loc.gettext(value))}</td>"  # the event catalogue's label, in the catalogues
    if column == "country" and row.get("country_code"):
        return f'<td dir="auto">{escape(_country(row["country_code"], value, loc))}</td>'
    if column == "pledger" and row.get("pledger_country_code"):
        return f'<td dir="auto">{escape(_country(row["pledger_country_code"], value, loc))}</td>'
    if column == "detail" and section.name == "mous" and isinstance(value, str):
        return f"<td>{_mou_detail(value, loc)}</td>"
    if column == "title" and section.name == "objective_coverage" and loc.language != "en":
        # The official title, held in English only: said so to a screen reader and the layout.
        return f'<td lang="en" dir="ltr">{_text(value)}</td>'
    # Names and titles come from users, in any script: each cell finds its own direction.
    return f'<td dir="auto">{_text(value)}</td>'


def _country(code: str, english: str, loc: Localizer) -> str:
    country = countries().get(code)
    return country.names[loc.language] if country is not None else english


def _table(section: Section, rows: list[dict[str, Any]], loc: Localizer) -> str:
    title = escape(loc.gettext(section.title))
    if not rows:
        nothing = escape(loc.gettext("Nothing in this period ({section}).")).replace("{section}", title)
        return f'<p class="empty">{nothing}</p>'
    columns = section.shown
    numeric = {c for c in columns if any(_is_number(r[c]) for r in rows)}
    head = "".join(f'<th scope="col"{" class=num" if c in numeric else ""}>{_label(c, loc)}</th>' for c in columns)
    body = "".join(
        "<tr>" + "".join(_cell(section, c, row, c in numeric, loc) for c in columns) + "</tr>" for row in rows
    )
    count = escape(loc.ngettext(*ROWS, len(rows)).format(count=loc.number(len(rows))))
    return (
        f'<div class="table-wrap" role="region" aria-label="{title}" tabindex="0">'
        f'<table><caption>{title} <span class="count">({count})</span></caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _section(section: Section, rows: list[dict[str, Any]], loc: Localizer) -> str:
    chart = CHARTS[section.name](rows, loc) if section.name in CHARTS and rows else ""
    title = loc.gettext(section.title)
    if chart:
        label = escape(loc.gettext("{section}, chart").format(section=title))
        chart = f'<div class="chart-wrap" role="region" aria-label="{label}" tabindex="0">{chart}</div>'
    return (
        f'<section id="{escape(section.name)}"><h2>{escape(title)}</h2>'
        f'<p class="description">{escape(loc.gettext(section.description))}</p>{chart}{_table(section, rows, loc)}'
        "</section>"
    )


def _figure(value: int | None, loc: Localizer) -> str:
    return "" if value is None else escape(loc.number(value))


def _summary(report: dict[str, Any], loc: Localizer) -> str:
    _ = loc.gettext
    end = escape(loc.date(report["period"]["to"]))
    # The figures' columns are headed by their days, short: the table fits a phone's width.
    first_day, last_day = escape(loc.day(report["period"]["from"])), escape(loc.day(report["period"]["to"]))
    figures = "".join(
        f'<tr><th scope="row">{escape(_(f.label))}</th><td class="num">{_figure(f.at_start, loc)}</td>'
        f'<td class="num">{_figure(f.at_end, loc)}</td>'
        f'<td class="num">{escape(_(f.change) if f.change == NO_CHANGE else f.change)}</td></tr>'
        for f in key_figures(report)
    )
    notes = attention(report, loc)
    calm = escape(_("Nothing needs attention on {day}.")).replace("{day}", end)
    needs = (
        '<ul class="attention">' + "".join(f"<li>{escape(note)}</li>" for note in notes) + "</ul>"
        if notes
        else f'<p class="calm">{calm}</p>'
    )
    summary, key_figures_caption, figure, change = (
        escape(_("Summary")),
        escape(_("Key figures")),
        escape(_("Figure")),
        escape(_("Change")),
    )
    heading = escape(_("Needs attention on {day}")).replace("{day}", end)
    return (
        f'<section class="summary" id="summary"><h2>{summary}</h2>'
        f'<div class="figures table-wrap" role="region" aria-label="{key_figures_caption}" tabindex="0"><table>'
        f"<caption>{key_figures_caption}</caption>"
        f'<thead><tr><th scope="col">{figure}</th><th scope="col" class="num">{first_day}</th>'
        f'<th scope="col" class="num">{last_day}</th><th scope="col" class="num">{change}</th></tr></thead>'
        f"<tbody>{figures}</tbody></table></div>"
        f"<h3>{heading}</h3>{needs}</section>"
    )


def _footnotes(notes: list[str], loc: Localizer) -> str:
    # The UN designation footnotes are official texts held in English only (services/reference).
    lang = "" if loc.language == "en" else ' lang="en" dir="ltr"'
    return "".join(f'<p class="footnote"{lang}>{escape(note)}</p>' for note in notes)


def report_html(report: dict[str, Any], loc: Localizer | None = None) -> str:
    """The page in ``loc``'s language (English when None)."""
    loc = loc or localizer("en")
    _ = loc.gettext
    network = report["network"]
    start, end = escape(loc.date(report["period"]["from"])), escape(loc.date(report["period"]["to"]))
    name_text, name_language = translated(network["name"], network.get("translations"), "name", loc.language)
    name = _text(name_text)
    summary = escape(_("Summary"))
    contents = f'<li><a href="#summary">{summary}</a></li>' + "".join(
        f'<li><a href="#{escape(s.name)}">{escape(_(s.title))}</a></li>' for s in SECTIONS
    )
    sections = "".join(_section(s, report[s.name], loc) for s in SECTIONS)
    generated: datetime = report["generated_at"]
    title = escape(_("Activity report: {network}, {start} to {end}")).format(network=name, start=start, end=end)
    period = escape(_("From {start} to {end}")).format(start=start, end=end)
    computed = escape(_("Computed from the registry's records and history on {moment}.")).format(
        moment=escape(loc.moment(generated))
    )
    kicker, sections_label, days = (
        escape(_("Migration Network Registry · Activity report")),
        escape(_("Sections")),
        escape(_("Days run in UTC.")),
    )
    return f"""<!DOCTYPE html>
<html lang="{loc.language}" dir="{loc.direction}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{escape(CONTENT_SECURITY_POLICY)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<p class="kicker">{kicker}</p>
<h1><bdi{_lang(name_language, loc)}>{name}</bdi></h1>
<p class="period">{period}</p>
<p class="generated">{computed}</p>
<nav aria-label="{sections_label}"><ol>{contents}</ol></nav>
</header>
<main>{_summary(report, loc)}{sections}</main>
<footer>{_footnotes(report["footnotes"], loc)}{days}</footer>
</body>
</html>
"""
