"""The report's sections, in the order they appear. Each is a table: a name (the JSON key and
the CSV file name), a title and a description for people, its columns, and how to load its
rows. Adding a section is one entry in SECTIONS (usually one SQL statement in the
repository); the JSON, the zip of CSV files and the HTML page pick it up from here."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncConnection

from services.events.catalogue import label_for
from services.indicators.repository import indicators
from services.locales import N_
from services.reference.countries import countries
from services.reports import repository
from services.reports.repository import Period

Rows = list[dict[str, Any]]
Loader = Callable[[AsyncConnection, Period], Awaitable[Rows]]


@dataclass(frozen=True)
class Section:
    name: str
    title: str  # title and description in English, the catalogues' messages: translated where shown
    description: str
    columns: tuple[str, ...]
    load: Loader
    # The columns a person reads (the HTML page and its PDF), when not all of them: codes
    # for machines stay in the JSON and the CSV files.
    for_people: tuple[str, ...] | None = None

    @property
    def shown(self) -> tuple[str, ...]:
        return self.for_people or self.columns


def query(statement: TextClause) -> Loader:
    """A loader that runs one statement with the period's parameters."""

    async def load(conn: AsyncConnection, period: Period) -> Rows:
        return await repository.rows(conn, statement, period)

    return load


# Identifies the indicators, not values to compare over the period.
_INDICATOR_METADATA = frozenset({"network_id", "as_of", "period_start"})


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"membership": {"core": 3}}`` → ``{"membership.core": 3}``."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if not prefix and key in _INDICATOR_METADATA:
            continue
        if isinstance(value, dict):
            # Sorted: a JSONB object's keys come back in storage order (by length), not a reader's.
            flat |= flatten(dict(sorted(value.items())), f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


async def load_indicators(conn: AsyncConnection, period: Period) -> Rows:
    at_start = flatten(await indicators(conn, period.network_id, as_of=period.start))
    at_end = flatten(await indicators(conn, period.network_id, as_of=period.end))
    return [
        {"indicator": name, "value_at_start": value, "value_at_end": at_end.get(name)}
        for name, value in at_start.items()
    ]


async def load_record_changes(conn: AsyncConnection, period: Period) -> Rows:
    """The period's events by type, each with the catalogue's label for people."""
    rows = await repository.rows(conn, repository.RECORD_CHANGES, period)
    return [{"event_type": r["event_type"], "label": label_for(r["event_type"]), "count": r["count"]} for r in rows]


def country_name(code: str) -> str:
    """The English name of a country of the reference data (the code itself, for one it no longer holds)."""
    country = countries().get(code)
    return country.names["en"] if country is not None else code


async def load_champion_countries(conn: AsyncConnection, period: Period) -> Rows:
    rows = await repository.rows(conn, repository.CHAMPION_COUNTRIES, period)
    return [{**r, "country": country_name(r["country_code"])} for r in rows]


async def load_overdue_pledges(conn: AsyncConnection, period: Period) -> Rows:
    """Each with ``pledger``: the member state's name, or the stakeholder's acronym."""
    rows = await repository.rows(conn, repository.OVERDUE_PLEDGES, period)
    return [
        {**r, "pledger": country_name(r["pledger_country_code"]) if r["pledger_country_code"] else r["pledger_entity"]}
        for r in rows
    ]


SECTIONS: tuple[Section, ...] = (
    Section(
        name="membership_changes",
        title=N_("Membership changes"),
        description=N_(
            "Entities that joined the network, left it or moved between the core and the extended "
            "tier in the period, on the day each change took effect, with the tier before and after it."
        ),
        columns=("date", "entity_acronym", "entity_name", "change", "tier", "previous_tier"),
        load=query(repository.MEMBERSHIP_CHANGES),
    ),
    Section(
        name="membership_over_time",
        title=N_("Membership over time"),
        description=N_("Members in the core and the extended tier at each month end, and on the period's last day."),
        columns=("date", "core", "extended"),
        load=query(repository.MEMBERSHIP_OVER_TIME),
    ),
    Section(
        name="leadership",
        title=N_("Coordinators and secretariats"),
        description=N_(
            "The network's coordinator and secretariat posts held at any time in the period "
            "(co-leads and co-secretariats side by side), and whether each was appointed or ended in it."
        ),
        columns=("role", "entity_acronym", "entity_name", "start_date", "end_date", "change"),
        load=query(repository.LEADERSHIP),
    ),
    Section(
        name="working_groups",
        title=N_("Working groups"),
        description=N_(
            "Working groups active at any time in the period, established or closed in it, "
            "with the meetings each held in the period."
        ),
        columns=("name", "change", "activated_on", "closed_on", "close_reason", "meetings_held"),
        load=query(repository.WORKING_GROUPS),
    ),
    Section(
        name="mous",
        title=N_("Memoranda of understanding"),
        description=N_(
            "MoUs signed, activated, refreshed (a successor became active), superseded, expired "
            "or terminated in the period."
        ),
        columns=("date", "reference_number", "title", "change", "parties", "detail"),
        load=query(repository.MOUS),
    ),
    Section(
        name="meetings",
        title=N_("Meetings"),
        description=N_(
            "Meetings held or cancelled in the period (dates in UTC). External participants are "
            "stakeholders recorded as present and people invited by e-mail."
        ),
        columns=(
            "date",
            "title",
            "kind",
            "working_group",
            "status",
            "invited",
            "attended",
            "external_participants",
        ),
        load=query(repository.MEETINGS),
    ),
    Section(
        name="record_changes",
        title=N_("Changes to the records"),
        description=N_(
            "What was recorded about this network in the period, by kind of change, and how many "
            "times. Loading the demonstration data is not counted."
        ),
        columns=("event_type", "label", "count"),
        load=load_record_changes,
        for_people=("label", "count"),
    ),
    Section(
        name="reviews",
        title=N_("Effectiveness reviews"),
        description=N_(
            "Review cycles opened, due, started or completed in the period, or under way throughout it, "
            "with their recommendations counted by status (open, in progress, done, dropped), as they stand today."
        ),
        columns=(
            "number",
            "reviewed_from",
            "due_date",
            "lead",
            "status",
            "started_on",
            "completed_on",
            "overdue_since",
            "open",
            "in_progress",
            "done",
            "dropped",
        ),
        load=query(repository.REVIEWS),
    ),
    Section(
        name="recommendations",
        title=N_("Recommendations followed up"),
        description=N_(
            "Recommendations of the reviews that were open at some time in the period; "
            "status as it stands today, with the day it last changed."
        ),
        columns=(
            "review_number",
            "recommendation",
            "owner",
            "due_date",
            "status",
            "status_changed_on",
            "dropped_reason",
            "overdue_since",
        ),
        load=query(repository.RECOMMENDATIONS),
    ),
    Section(
        name="indicators",
        title=N_("Indicators"),
        description=N_(
            "The network's indicators on the period's first and last day; counts of what happened "
            "(joined, left, deliveries) cover the twelve months before each of those days."
        ),
        columns=("indicator", "value_at_start", "value_at_end"),
        load=load_indicators,
    ),
    Section(
        name="objective_coverage",
        title=N_("GCM objective coverage"),
        description=N_(
            "Per GCM objective on the period's last day: the active working groups and MoU areas on it; "
            "contested when two or more different leads claim it."
        ),
        columns=(
            "objective",
            "title",
            "coverage",
            "working_groups",
            "mou_areas",
            "working_group_names",
            "lead_parties",
        ),
        load=query(repository.OBJECTIVE_COVERAGE),
    ),
    Section(
        name="activities_by_status",
        title=N_("Workplan activities by status"),
        description=N_(
            "The network's workplan activities under way at some time in the period (started by its last "
            "day, and running into it, not completed on its last day, or completed in it; one without an end date "
            "runs to its workplan's end), by their status on the period's last day, from each activity's dated "
            "status history; overdue: not completed on that day though their end date is before it."
        ),
        columns=("status", "activities", "overdue"),
        load=query(repository.ACTIVITIES_BY_STATUS),
    ),
    Section(
        name="overdue_activities",
        title=N_("Overdue activities"),
        description=N_(
            "Activities not completed on the period's last day though their end date is before it, "
            "with their leads and the days overdue on that day."
        ),
        columns=("workplan", "activity", "leads", "start_date", "end_date", "status_at_end", "days_overdue"),
        load=query(repository.OVERDUE_ACTIVITIES),
    ),
    Section(
        name="outputs",
        title=N_("Outputs published"),
        description=N_("Outputs of the network's workplan activities published in the period."),
        columns=("published_on", "workplan", "activity", "title", "link"),
        load=query(repository.OUTPUTS),
    ),
    Section(
        name="champion_countries",
        title=N_("Champion countries"),
        description=N_(
            "Member states that were champions of the network at any time in the period, "
            "and whether their period started or ended in it."
        ),
        columns=("country_code", "country", "start_date", "end_date", "change"),
        load=load_champion_countries,
    ),
    Section(
        name="pledges_by_status",
        title=N_("Pledges by status"),
        description=N_(
            "Pledges announced by the period's last day and not fulfilled or withdrawn before its first, "
            "by their status today; overdue at end: still open on the period's last day though due before it."
        ),
        columns=("status", "pledges", "overdue_at_end"),
        load=query(repository.PLEDGES_BY_STATUS),
    ),
    Section(
        name="overdue_pledges",
        title=N_("Overdue pledges"),
        description=N_(
            "Pledges still open on the period's last day though due before it; the pledger is the member "
            "state's name or the stakeholder's acronym; status as it stands today."
        ),
        columns=("pledger", "title", "due_date", "status", "status_changed_on", "days_overdue"),
        load=load_overdue_pledges,
    ),
)
