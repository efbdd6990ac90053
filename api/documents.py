"""The shapes of the responses built as documents rather than read as records (a computed
report, a feed page, an operator's probe): declared here so that the OpenAPI document gives
each its real schema. ``tests/test_openapi_bounds.py`` checks each one against what its route
serves, key for key."""

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from services.schemas import OutputModel

ComplianceState = Literal["ok", "at_risk", "overdue"]


def documented(model: type[OutputModel], description: str, **content: Any) -> dict[int | str, dict[str, Any]]:
    """A 200 response documented as ``model`` (JSON), with other media types in ``content``."""
    response: dict[str, Any] = {"description": description, "model": model}
    if content:
        response["content"] = {"application/json": {}, **content}
    return {200: response}


# --- coverage ---------------------------------------------------------------------------------


class CoverageGroup(OutputModel):
    id: uuid.UUID
    name: str
    slug: str
    network_member_seats: int = Field(description="Member seats held today by members of the network.")
    stakeholder_seats: int = Field(description="Member seats held today by stakeholders outside the network.")


class CoverageLead(OutputModel):
    id: uuid.UUID
    acronym: str
    name: str


class CoverageArea(OutputModel):
    mou_id: uuid.UUID
    reference_number: str
    area_id: uuid.UUID
    description: str
    lead: CoverageLead


class CoverageRow(OutputModel):
    objective: int = Field(ge=1, le=23)
    title: str
    working_groups: list[CoverageGroup]
    mou_areas: list[CoverageArea]
    activities: int = Field(
        ge=0,
        description="Activities not completed of the network's workplans whose period holds today, on the "
        "objective. Work planned or under way, not a standing mechanism: they do not make it covered.",
    )
    uncovered: bool = Field(
        description="No active working group or MoU area covers the objective (whatever its activities)."
    )
    contested: bool = Field(description="Two or more different lead parties claim areas on it.")


class CoverageOut(OutputModel):
    network_id: uuid.UUID
    items: list[CoverageRow] = Field(description="One row per GCM objective, 1 to 23.")


# --- indicators -------------------------------------------------------------------------------


class MembershipCounts(OutputModel):
    core: int
    left: int
    joined: int
    extended: int
    tier_changes: int


class SeatCounts(OutputModel):
    network_members: int = Field(description="Member seats held on the day by members of the network.")
    stakeholders: int = Field(description="Member seats held on the day by stakeholders outside the network.")


class GroupCounts(OutputModel):
    active: int
    without_current_chair: int
    without_meeting_in_12_months: int
    seats: SeatCounts


class MouCounts(OutputModel):
    active: int
    overdue_for_refresh: int
    contested_objectives: int
    expiring_within_90_days: int
    review_due_within_90_days: int


class ObjectiveCounts(OutputModel):
    contested: int
    uncovered: int


class DeliveryCounts(OutputModel):
    failed: int
    attempted: int
    succeeded: int


class NotificationCounts(OutputModel):
    email_deliveries: DeliveryCounts
    endpoints_disabled: int
    webhook_deliveries: DeliveryCounts


class AnnualMeetingRule(OutputModel):
    met: bool
    state: ComplianceState
    last_met_on: date | None
    due_by: date


class IndicatorsOut(OutputModel):
    network_id: uuid.UUID
    as_of: date
    period_start: date = Field(description="A year before `as_of`: changes are counted from here.")
    membership: MembershipCounts
    working_groups: GroupCounts
    mous: MouCounts
    gcm_objectives: ObjectiveCounts
    notifications: NotificationCounts
    annual_meeting_rule: AnnualMeetingRule


class MeetingComplianceOut(OutputModel):
    network_id: uuid.UUID
    last_met_on: date | None
    last_meeting_id: uuid.UUID | None
    due_by: date
    next_scheduled_on: date | None
    next_meeting_id: uuid.UUID | None
    next_within_12_months: bool
    state: ComplianceState
    overdue: bool
    at_risk: bool


# --- the change feed and MoU history ----------------------------------------------------------


class FeedEvent(OutputModel):
    position: int
    id: uuid.UUID
    type: str = Field(description="One of GET /v1/event-types.")
    subject_type: str
    subject_id: uuid.UUID
    network_id: uuid.UUID | None
    actor: str
    occurred_at: datetime
    data: dict[str, Any] = Field(description="The event's payload, as its type's `payload_schema` describes it.")


class FeedPage(OutputModel):
    items: list[FeedEvent]
    next_cursor: str = Field(description="Poll again from here; at the head of the log once you have caught up.")


class MouChange(OutputModel):
    id: uuid.UUID
    type: str
    mou_id: uuid.UUID
    actor: str
    occurred_at: datetime
    changes: dict[str, Any] | None = Field(description="Field by field, before and after; null for an action.")


class MouHistoryOut(OutputModel):
    mou_ids: list[uuid.UUID] = Field(description="The chain of MoUs refreshed from one another, oldest first.")
    items: list[MouChange]


# --- reference lists, webhooks, operations ----------------------------------------------------


class ObjectiveOut(OutputModel):
    number: int = Field(ge=1, le=23)
    title: str


_GCM_LANGUAGE = Field(description="The language of the titles: the official texts are held in English only.")
_GCM_MISSING = Field(
    description="The official languages the registry does not hold the Compact's text in (never machine-written); "
    "a reader who asked for one of them gets English, as `Content-Language` says."
)


class ObjectiveList(OutputModel):
    items: list[ObjectiveOut]
    language: Literal["en"] = _GCM_LANGUAGE
    missing_languages: list[Literal["ar", "zh", "fr", "ru", "es"]] = _GCM_MISSING


class PrincipleOut(OutputModel):
    code: str
    title: str


class PrincipleList(OutputModel):
    items: list[PrincipleOut]
    language: Literal["en"] = _GCM_LANGUAGE
    missing_languages: list[Literal["ar", "zh", "fr", "ru", "es"]] = _GCM_MISSING


class ReplayOut(OutputModel):
    replayed: list[uuid.UUID] = Field(description="The deliveries queued again.")


class Liveness(OutputModel):
    status: Literal["ok"]
    version: str = Field(description="The registry's version (as `registry --version` prints it).")


class Backlog(OutputModel):
    """Where a transport's deliveries stand."""

    pending: int = Field(description="Due, waiting for a worker.")
    held: int = Field(description="Leased by a worker now.")
    waiting_for_retry: int = Field(description="Failed before; due again later, on the retry schedule.")
    due: int = Field(description="Pending or held.")
    oldest_due_seconds: float | None = Field(description="How long the oldest due delivery has waited.")
    failed: int = Field(description="Failed for good (until replayed).")


class Backlogs(OutputModel):
    webhook: Backlog
    email: Backlog


class SchedulerStatus(OutputModel):
    scheduler_id: str
    last_sweep_at: datetime
    seconds_since_last_sweep: float | None


class ReadinessChecks(OutputModel):
    api: Literal["up", "draining"]
    database: Literal["up", "down", "read-only"]
    broker: Literal["up", "down"]


class Readiness(OutputModel):
    status: Literal["ready"]
    checks: ReadinessChecks
    deliveries: Backlogs
    scheduler: SchedulerStatus | None = Field(description="The last sweep; null before the first.")
