"""The report's first page: the key figures with their change over the period, and what
needs attention on its last day, in words. Computed from the report's own sections (no
query of its own), so the summary and the tables below it cannot disagree."""

from dataclasses import dataclass
from typing import Any

OBJECTIVES = 23


@dataclass(frozen=True)
class Figure:
    label: str
    at_start: int | None
    at_end: int | None

    @property
    def change(self) -> str:
        """``+2``, ``\\u22121`` (a minus sign, not a hyphen), ``no change``, or blank when unknown."""
        if self.at_start is None or self.at_end is None:
            return ""
        delta = self.at_end - self.at_start
        return "no change" if delta == 0 else f"+{delta}" if delta > 0 else f"\u2212{-delta}"


# Indicators that are key figures: their name in the indicators section → the words for them.
KEY_INDICATORS = (
    ("membership.core", "Members in the core tier"),
    ("membership.extended", "Members in the extended tier"),
    ("membership.joined", "Entities that joined in the twelve months before"),
    ("working_groups.active", "Working groups active"),
    ("mous.active", "Memoranda of understanding in force"),
    ("gcm_objectives.uncovered", f"GCM objectives (of {OBJECTIVES}) that nothing covers"),
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
        Figure("Meetings held in the period", None, held),
        Figure("Workplan activities completed (status on the last day)", None, completed),
        Figure("Pledges fulfilled", None, fulfilled),
    ]
    return figures


def _objectives(numbers: list[Any]) -> str:
    return ", ".join(str(n) for n in numbers)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def attention(report: dict[str, Any]) -> list[str]:
    """What needs attention on the period's last day, most pressing first; empty when nothing does."""
    end = {row["indicator"]: row["value_at_end"] for row in report["indicators"]}
    notes: list[str] = []
    if end.get("annual_meeting_rule.state") == "overdue":
        last = end.get("annual_meeting_rule.last_met_on")
        since = f"has not met with other stakeholders since {last}" if last else "has never met with other stakeholders"
        notes.append(
            f"The annual meeting is overdue: the extended membership {since}; it was due by "
            f"{end.get('annual_meeting_rule.due_by')}."
        )
    uncovered = [r["objective"] for r in report["objective_coverage"] if r["coverage"] == "uncovered"]
    if uncovered:
        notes.append(
            f"{_plural(len(uncovered), 'GCM objective has', 'GCM objectives have')} no working group or MoU "
            f"area: {_objectives(uncovered)}."
        )
    contested = [r["objective"] for r in report["objective_coverage"] if r["coverage"] == "contested"]
    if contested:
        notes.append(
            f"{_plural(len(contested), 'GCM objective is', 'GCM objectives are')} claimed by more than one lead: "
            f"{_objectives(contested)}."
        )
    reviews = [r for r in report["reviews"] if r["overdue_since"] is not None and r["status"] != "completed"]
    if reviews:
        notes.append(f"{_plural(len(reviews), 'effectiveness review is', 'effectiveness reviews are')} overdue.")
    recommendations = [
        r
        for r in report["recommendations"]
        if r["overdue_since"] is not None and r["status"] in ("open", "in_progress")
    ]
    if recommendations:
        notes.append(f"{_plural(len(recommendations), 'recommendation is', 'recommendations are')} past due.")
    if report["overdue_activities"]:
        notes.append(
            _plural(
                len(report["overdue_activities"]),
                "workplan activity is not completed though its end date has passed.",
                "workplan activities are not completed though their end dates have passed.",
            )
        )
    if report["overdue_pledges"]:
        notes.append(f"{_plural(len(report['overdue_pledges']), 'pledge is', 'pledges are')} past due.")
    chairless = _number(end.get("working_groups.without_current_chair")) or 0
    if chairless:
        notes.append(f"{_plural(chairless, 'working group has', 'working groups have')} no chair today.")
    unrefreshed = _number(end.get("mous.overdue_for_refresh")) or 0
    if unrefreshed:
        notes.append(f"{_plural(unrefreshed, 'MoU is overdue for its', 'MoUs are overdue for their')} refresh.")
    return notes
