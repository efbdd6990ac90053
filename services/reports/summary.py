"""The report's first page: the key figures with their change over the period, and what
needs attention on its last day, in words. Computed from the report's own sections (no
query of its own), so the summary and the tables below it cannot disagree."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.locales import N_, NP_, Localizer, localizer

OBJECTIVES = 23
ENGLISH = localizer("en")


@dataclass(frozen=True)
class Figure:
    label: str  # in English, the catalogues' message: translated where it is shown
    at_start: int | None
    at_end: int | None

    @property
    def change(self) -> str:
        """``+2``, ``\\u22121`` (a minus sign, not a hyphen), ``no change``, or blank when unknown."""
        if self.at_start is None or self.at_end is None:
            return ""
        delta = self.at_end - self.at_start
        return NO_CHANGE if delta == 0 else f"+{delta}" if delta > 0 else f"\u2212{-delta}"


NO_CHANGE = N_("no change")


# Indicators that are key figures: their name in the indicators section → the words for them.
KEY_INDICATORS = (
    ("membership.core", N_("Members in the core tier")),
    ("membership.extended", N_("Members in the extended tier")),
    ("membership.joined", N_("Entities that joined in the twelve months before")),
    ("working_groups.active", N_("Working groups active")),
    ("mous.active", N_("Memoranda of understanding in force")),
    ("gcm_objectives.uncovered", N_("GCM objectives (of 23) that nothing covers")),
)


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def key_figures(report: dict[str, Any]) -> list[Figure]:
    """The key indicators on the period's first and last day, then the period's own counts
    (meetings held, activities completed, pledges fulfilled), which have no value at its start."""
    indicators = {row["indicator"]: row for row in report["indicators"]}
    figures = [
        Figure(label, _number(indicators[name]["value_at_start"]), _number(indicators[name]["value_at_end"]))
        for name, label in KEY_INDICATORS
        if name in indicators
    ]
    held = sum(1 for m in report["meetings"] if m["status"] == "held")
    completed = next((r["activities"] for r in report["activities_by_status"] if r["status"] == "completed"), 0)
    fulfilled = next((r["pledges"] for r in report["pledges_by_status"] if r["status"] == "fulfilled"), 0)
    figures += [
        Figure(N_("Meetings held in the period"), None, held),
        Figure(N_("Workplan activities completed (status on the last day)"), None, completed),
        Figure(N_("Pledges fulfilled"), None, fulfilled),
    ]
    return figures


def _objectives(numbers: list[Any], loc: Localizer) -> str:
    return loc.gettext(", ").join(loc.number(n) if isinstance(n, int) else str(n) for n in numbers)


def _day(value: Any, loc: Localizer) -> str:
    """A day from the indicators (a date, or its ISO text in JSON) as the reader's locale writes it."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return str(value)
    return loc.date(value) if isinstance(value, date) else str(value)


def attention(report: dict[str, Any], loc: Localizer = ENGLISH) -> list[str]:
    """What needs attention on the period's last day, most pressing first, in the reader's
    language; empty when nothing does."""
    end = {row["indicator"]: row["value_at_end"] for row in report["indicators"]}
    notes: list[str] = []
    _, n_ = loc.gettext, loc.ngettext
    if end.get("annual_meeting_rule.state") == "overdue":
        last = end.get("annual_meeting_rule.last_met_on")
        due = _day(end.get("annual_meeting_rule.due_by"), loc)
        if last:
            note = _(
                "The annual meeting is overdue: the extended membership has not met with other stakeholders "
                "since {last}; it was due by {due}."
            ).format(last=_day(last, loc), due=due)
        else:
            note = _(
                "The annual meeting is overdue: the extended membership has never met with other stakeholders; "
                "it was due by {due}."
            ).format(due=due)
        notes.append(note)
    uncovered = [r["objective"] for r in report["objective_coverage"] if r["coverage"] == "uncovered"]
    if uncovered:
        notes.append(
            n_(
                "{count} GCM objective has no working group or MoU area: {objectives}.",
                "{count} GCM objectives have no working group or MoU area: {objectives}.",
                len(uncovered),
            ).format(count=loc.number(len(uncovered)), objectives=_objectives(uncovered, loc))
        )
    contested = [r["objective"] for r in report["objective_coverage"] if r["coverage"] == "contested"]
    if contested:
        notes.append(
            n_(
                "{count} GCM objective is claimed by more than one lead: {objectives}.",
                "{count} GCM objectives are claimed by more than one lead: {objectives}.",
                len(contested),
            ).format(count=loc.number(len(contested)), objectives=_objectives(contested, loc))
        )
    reviews = [r for r in report["reviews"] if r["overdue_since"] is not None and r["status"] != "completed"]
    recommendations = [
        r
        for r in report["recommendations"]
        if r["overdue_since"] is not None and r["status"] in ("open", "in_progress")
    ]
    counted = (
        (len(reviews), NP_("{count} effectiveness review is overdue.", "{count} effectiveness reviews are overdue.")),
        (len(recommendations), NP_("{count} recommendation is past due.", "{count} recommendations are past due.")),
        (
            len(report["overdue_activities"]),
            NP_(
                "{count} workplan activity is not completed though its end date has passed.",
                "{count} workplan activities are not completed though their end dates have passed.",
            ),
        ),
        (len(report["overdue_pledges"]), NP_("{count} pledge is past due.", "{count} pledges are past due.")),
        (
            _number(end.get("working_groups.without_current_chair")) or 0,
            NP_("{count} working group has no chair today.", "{count} working groups have no chair today."),
        ),
        (
            _number(end.get("mous.overdue_for_refresh")) or 0,
            NP_("{count} MoU is overdue for its refresh.", "{count} MoUs are overdue for their refresh."),
        ),
    )
    notes += [n_(*forms, count).format(count=loc.number(count)) for count, forms in counted if count]
    return notes
