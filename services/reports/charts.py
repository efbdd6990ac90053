"""The report's two charts as inline SVG, drawn on the server (no script, no external resource),
their words in the reader's language. The plot itself runs left to right in every language
(time and objective numbers grow to the right), as the Organization's Arabic charts do.
Every text that comes from a record is escaped."""

import math
from datetime import date
from html import escape
from typing import Any

from services.locales import Localizer

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 36, 46

CORE, EXTENDED = "#1f4e79", "#7fb2e5"
COVERED, CONTESTED, UNCOVERED = "#2e7d32", "#ef8f00", "#c62828"


def _nice_maximum(value: int) -> tuple[int, int]:
    """An axis maximum at or above ``value`` and a tick step dividing it (about four ticks)."""
    if value <= 4:
        return 4, 1
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return int(step * math.ceil(value / step)), int(step)


def _svg(title: str, description: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" class="chart" direction="ltr"><title>{escape(title)}</title><desc>{escape(description)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _y_axis(maximum: int, step: int, plot_height: float, loc: Localizer) -> list[str]:
    parts = []
    for tick in range(0, maximum + 1, step):
        y = TOP + plot_height - plot_height * tick / maximum
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#d0d0d0" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{loc.number(tick)}</text>'
        )
    return parts


def _legend(items: list[tuple[str, str]]) -> list[str]:
    parts, x = [], LEFT
    for colour, label in items:
        parts.append(
            f'<rect x="{x}" y="10" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 17}" y="20" font-size="12">{escape(label)}</text>'
        )
        x += 24 + 7 * len(label) + 5 * sum(1 for c in label if ord(c) > 0x2E80)  # Han characters are wider
    return parts


def membership_chart(rows: list[dict[str, Any]], loc: Localizer) -> str:
    """Stacked bars: core and extended members at each point of ``membership_over_time``."""
    _ = loc.gettext
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    highest = max((r["core"] + r["extended"] for r in rows), default=0)
    maximum, step = _nice_maximum(highest)
    body = _y_axis(maximum, step, plot_height, loc)
    slot = plot_width / max(len(rows), 1)
    bar = max(slot * 0.7, 1.0)
    label_every = max(1, math.ceil(len(rows) / 12))
    for i, row in enumerate(rows):
        day: date = row["date"]
        x = LEFT + i * slot + (slot - bar) / 2
        core_height = plot_height * row["core"] / maximum
        extended_height = plot_height * row["extended"] / maximum
        base = TOP + plot_height
        tooltip = _("{day}: {core} core, {extended} extended").format(
            day=loc.date(day), core=loc.number(row["core"]), extended=loc.number(row["extended"])
        )
        body.append(
            f"<g><title>{escape(tooltip)}</title>"
            f'<rect x="{x:.1f}" y="{base - core_height:.1f}" width="{bar:.1f}" height="{core_height:.1f}" fill="{CORE}"/>'
            f'<rect x="{x:.1f}" y="{base - core_height - extended_height:.1f}" width="{bar:.1f}" '
            f'height="{extended_height:.1f}" fill="{EXTENDED}"/></g>'
        )
        if i % label_every == 0 or i == len(rows) - 1:
            body.append(
                f'<text x="{x + bar / 2:.1f}" y="{base + 16:.1f}" text-anchor="middle" font-size="10">'
                f"{day.strftime('%Y-%m')}</text>"
            )
    body.append(
        f'<line x1="{LEFT}" y1="{TOP + plot_height}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_height}" stroke="#333"/>'
    )
    body += _legend([(CORE, _("Core")), (EXTENDED, _("Extended"))])
    return _svg(
        _("Membership over time"),
        _("Members of the core and the extended tier at each month end of the period, stacked."),
        body,
    )


def coverage_chart(rows: list[dict[str, Any]], loc: Localizer) -> str:
    """One bar per GCM objective: its height the working groups and MoU areas on it, its colour
    whether it is covered, contested, or uncovered (a red mark under the axis)."""
    _ = loc.gettext
    words = {"covered": _("Covered"), "contested": _("Contested"), "uncovered": _("Not covered")}
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    highest = max((r["working_groups"] + r["mou_areas"] for r in rows), default=0)
    maximum, step = _nice_maximum(highest)
    body = _y_axis(maximum, step, plot_height, loc)
    slot = plot_width / max(len(rows), 1)
    bar = slot * 0.7
    base = TOP + plot_height
    colours = {"covered": COVERED, "contested": CONTESTED, "uncovered": UNCOVERED}
    counts = dict.fromkeys(colours, 0)
    for i, row in enumerate(rows):
        counts[row["coverage"]] += 1
        mechanisms = row["working_groups"] + row["mou_areas"]
        x = LEFT + i * slot + (slot - bar) / 2
        tooltip = _(
            "Objective {number}: {title} — {coverage} ({working_groups} working groups, {mou_areas} MoU areas)"
        ).format(
            number=row["objective"],
            title=row["title"],
            coverage=words[row["coverage"]],
            working_groups=loc.number(row["working_groups"]),
            mou_areas=loc.number(row["mou_areas"]),
        )
        if row["coverage"] == "uncovered":
            shape = f'<rect x="{x:.1f}" y="{base + 2:.1f}" width="{bar:.1f}" height="5" fill="{UNCOVERED}"/>'
        else:
            height = plot_height * mechanisms / maximum
            shape = (
                f'<rect x="{x:.1f}" y="{base - height:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                f'fill="{colours[row["coverage"]]}"/>'
            )
        body.append(
            f"<g><title>{escape(tooltip)}</title>{shape}"
            f'<text x="{x + bar / 2:.1f}" y="{base + 22:.1f}" text-anchor="middle" font-size="11">'
            f"{row['objective']}</text></g>"
        )
    body.append(f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="#333"/>')
    axis = escape(_("GCM objective"))
    body.append(
        f'<text x="{LEFT + plot_width / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" font-size="11">{axis}</text>'
    )
    body += _legend([(colours[k], f"{words[k]} ({loc.number(counts[k])})") for k in colours])
    return _svg(
        _("GCM objective coverage"),
        _(
            "Working groups and MoU areas on each of the GCM objectives; uncovered objectives are marked under "
            "the axis."
        ),
        body,
    )
