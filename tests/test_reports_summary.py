"""The report's summary in words: key figures with their change, and what needs attention."""

from typing import Any

from services.reports.summary import Figure, attention, key_figures


def _report(**sections: Any) -> dict[str, Any]:
    empty: dict[str, Any] = {
        "indicators": [],
        "meetings": [],
        "activities_by_status": [],
        "pledges_by_status": [],
        "objective_coverage": [],
        "reviews": [],
        "recommendations": [],
        "overdue_activities": [],
        "overdue_pledges": [],
    }
    return empty | sections


def _indicator(name: str, start: Any, end: Any) -> dict[str, Any]:
    return {"indicator": name, "value_at_start": start, "value_at_end": end}


def test_a_key_figure_says_its_change_with_a_minus_sign_and_no_change_in_words() -> None:
    assert Figure("x", 3, 5).change == "+2"
    assert Figure("x", 5, 3).change == "\u22122"
    assert Figure("x", 4, 4).change == "no change"
    assert Figure("x", None, 4).change == ""


def test_the_key_figures_come_from_the_indicators_and_the_periods_own_counts() -> None:
    report = _report(
        indicators=[_indicator("membership.core", 8, 9), _indicator("mous.active", 3, 2)],
        meetings=[{"status": "held"}, {"status": "held"}, {"status": "cancelled"}],
        activities_by_status=[{"status": "completed", "activities": 4}, {"status": "ongoing", "activities": 1}],
        pledges_by_status=[{"status": "fulfilled", "pledges": 1}],
    )
    figures = {f.label: (f.at_start, f.at_end, f.change) for f in key_figures(report)}
    assert figures["Members in the core tier"] == (8, 9, "+1")
    assert figures["Memoranda of understanding in force"] == (3, 2, "\u22121")
    assert figures["Meetings held in the period"] == (None, 2, "")
    assert figures["Workplan activities completed (status on the last day)"] == (None, 4, "")
    assert figures["Pledges fulfilled"] == (None, 1, "")
    assert "Members in the extended tier" not in figures  # no indicator, no made-up figure


def test_nothing_needs_attention_when_nothing_is_late() -> None:
    quiet = _report(
        indicators=[_indicator("annual_meeting_rule.state", "met", "met")],
        objective_coverage=[{"objective": 1, "coverage": "covered"}],
        reviews=[{"overdue_since": "2022-01-01", "status": "completed"}],
        recommendations=[{"overdue_since": "2022-01-01", "status": "implemented"}],
    )
    assert attention(quiet) == []


def test_what_needs_attention_is_said_in_words_most_pressing_first() -> None:
    report = _report(
        indicators=[
            _indicator("annual_meeting_rule.state", "met", "overdue"),
            _indicator("annual_meeting_rule.last_met_on", None, "2021-03-04"),
            _indicator("annual_meeting_rule.due_by", None, "2022-03-04"),
            _indicator("working_groups.without_current_chair", 0, 1),
            _indicator("mous.overdue_for_refresh", 0, 2),
        ],
        objective_coverage=[
            {"objective": 3, "coverage": "uncovered"},
            {"objective": 7, "coverage": "uncovered"},
            {"objective": 9, "coverage": "contested"},
        ],
        reviews=[{"overdue_since": "2022-06-01", "status": "in_progress"}],
        recommendations=[
            {"overdue_since": "2022-06-01", "status": "open"},
            {"overdue_since": "2022-06-01", "status": "in_progress"},
            {"overdue_since": None, "status": "open"},
        ],
        overdue_activities=[{"title": "a"}],
        overdue_pledges=[{"title": "p"}, {"title": "q"}],
    )
    assert attention(report) == [
        "The annual meeting is overdue: the extended membership has not met with other stakeholders "
        "since 4 March 2021; it was due by 4 March 2022.",
        "2 GCM objectives have no working group or MoU area: 3, 7.",
        "1 GCM objective is claimed by more than one lead: 9.",
        "1 effectiveness review is overdue.",
        "2 recommendations are past due.",
        "1 workplan activity is not completed though its end date has passed.",
        "2 pledges are past due.",
        "1 working group has no chair today.",
        "2 MoUs are overdue for their refresh.",
    ]
