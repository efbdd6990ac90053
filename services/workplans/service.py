"""Rules for workplans and their activities (docs/DOMAIN.md, "Workplans").

An activity's status moves yet_to_start → ongoing → completed (yet_to_start → completed
directly too), and a completed activity may be reopened (→ ongoing); it never goes back to
yet_to_start. Each change is dated, no later than today and no earlier than the previous
one, and kept in the activity's history. A completed activity has an end date: completing
one without sets it to the day it completed (or the end given). Every date of an activity
lies within its workplan's period."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.policy import require_admin
from services.clock import clock
from services.errors import Conflict, InvalidInput, NotFound
from services.events.service import append_events
from services.networks.models import Network
from services.principals import SYSTEM, Principal
from services.records import apply_patch, check_version, loaded_change, record_change
from services.workplans import repository
from services.workplans.models import (
    Activity,
    ActivityLead,
    ActivityOutput,
    ActivityStatus,
    ActivityStatusChange,
    Workplan,
)
from services.workplans.schemas import (
    REQUIRED_ON_ACTIVITY,
    REQUIRED_ON_WORKPLAN,
    ActivityCreate,
    ActivityStatusChangeIn,
    ActivityUpdate,
    OutputCreate,
    WorkplanCreate,
    WorkplanUpdate,
)

# Where each status may go next.
TRANSITIONS: dict[ActivityStatus, frozenset[ActivityStatus]] = {
    ActivityStatus.YET_TO_START: frozenset({ActivityStatus.ONGOING, ActivityStatus.COMPLETED}),
    ActivityStatus.ONGOING: frozenset({ActivityStatus.COMPLETED}),
    ActivityStatus.COMPLETED: frozenset({ActivityStatus.ONGOING}),
}


async def create_workplan(
    session: AsyncSession, *, data: WorkplanCreate, actor: Principal, is_demo: bool = False
) -> dict[str, Any]:
    """A network's workplan for a period."""
    require_admin(actor, "publish workplans")
    if await session.get(Network, data.network_id) is None:
        raise InvalidInput("reference-not-found", f"network_id {data.network_id} is not a network of the registry.")
    workplan = Workplan(**data.model_dump(), is_demo=is_demo)
    session.add(workplan)
    await session.flush()
    return await record_change(
        session,
        event="created",
        subject_type="workplan",
        subject_id=workplan.id,
        network_id=data.network_id,
        load_row=repository.get_workplan_row,
        actor=actor,
    )


async def load_workplan(session: AsyncSession, workplan_id: uuid.UUID) -> Workplan:
    """The workplan, locked: its period is read to check its activities' dates, and changes
    only under this lock, so a check and a change of the period never interleave."""
    workplan = await session.get(Workplan, workplan_id, with_for_update=True)
    if workplan is None:
        raise NotFound("workplan-not-found", f"No workplan has id {workplan_id}.")
    return workplan


def _check_within(workplan: Workplan, name: str, day: date | None) -> None:
    if day is not None and not workplan.start_date <= day <= workplan.end_date:
        raise InvalidInput(
            "outside-workplan-period",
            f"{name} {day} is outside the workplan's period ({workplan.start_date} to {workplan.end_date}); "
            "choose a date in it, or record the activity in the workplan of that period.",
        )


async def _check_working_group(
    session: AsyncSession, workplan: Workplan, group_id: uuid.UUID | None, workstream: str | None
) -> None:
    if group_id is None:
        return
    if workstream is not None:
        raise InvalidInput(
            "group-or-workstream", "Give either working_group_id or workstream, not both: an activity sits in one."
        )
    network_id = await repository.working_group_network(session, group_id)
    if network_id is None:
        raise InvalidInput(
            "reference-not-found", f"working_group_id {group_id} is not a working group of the registry."
        )
    if network_id != workplan.network_id:
        raise InvalidInput(
            "working-group-of-another-network",
            f"Working group {group_id} belongs to another network than the workplan's; "
            f"choose one of this network's groups (GET /v1/working-groups?network_id={workplan.network_id}).",
        )


async def _check_leads(session: AsyncSession, lead_entity_ids: list[uuid.UUID]) -> None:
    if unknown := await repository.unknown_entities(session, lead_entity_ids):
        raise InvalidInput(
            "reference-not-found", f"lead_entity_ids: {', '.join(map(str, unknown))} are not entities of the registry."
        )


def _check_status_day(day: date, *, after: date | None = None) -> None:
    if day > clock.today():
        raise InvalidInput("status-in-future", f"A status is recorded once reached; {day} is after today.")
    if after is not None and day < after:
        raise InvalidInput(
            "status-before-previous",
            f"The activity's status last changed on {after}; date this change on or after it.",
        )


async def add_activity(
    session: AsyncSession, *, workplan_id: uuid.UUID, data: ActivityCreate, actor: Principal
) -> dict[str, Any]:
    """An activity of the workplan, with its leads, objectives and status as it stands."""
    require_admin(actor, "plan activities")
    workplan = await load_workplan(session, workplan_id)
    _check_within(workplan, "start_date", data.start_date)
    _check_within(workplan, "end_date", data.end_date)
    await _check_working_group(session, workplan, data.working_group_id, data.workstream)
    await _check_leads(session, data.lead_entity_ids)
    status_changed_on = data.status_changed_on or clock.today()
    _check_status_day(status_changed_on)
    if data.status == ActivityStatus.COMPLETED and data.end_date is None:
        raise InvalidInput("completed-needs-end", "A completed activity has an end date: give end_date.")
    activity = Activity(
        **data.model_dump(exclude={"lead_entity_ids", "status_changed_on"}),
        workplan_id=workplan_id,
        status_changed_on=status_changed_on,
    )
    session.add(activity)
    await session.flush()
    session.add_all(ActivityLead(activity_id=activity.id, entity_id=each) for each in data.lead_entity_ids)
    session.add(ActivityStatusChange(activity_id=activity.id, status=data.status, changed_on=status_changed_on))
    return await _record(session, "created", activity, workplan.network_id, actor)


async def _record(
    session: AsyncSession, event: str, activity: Activity, network_id: uuid.UUID, actor: Principal, **details: Any
) -> dict[str, Any]:
    return await record_change(
        session,
        event=event,
        subject_type="activity",
        subject_id=activity.id,
        network_id=network_id,
        load_row=repository.get_activity_row,
        actor=actor,
        **details,
    )


async def _load_activity(session: AsyncSession, workplan_id: uuid.UUID, activity_id: uuid.UUID) -> Activity:
    activity = await session.scalar(
        select(Activity).where(Activity.id == activity_id, Activity.workplan_id == workplan_id).with_for_update()
    )
    if activity is None:
        raise NotFound("activity-not-found", f"Workplan {workplan_id} has no activity {activity_id}.")
    return activity


async def change_activity_status(
    session: AsyncSession,
    *,
    workplan_id: uuid.UUID,
    activity_id: uuid.UUID,
    data: ActivityStatusChangeIn,
    actor: Principal,
) -> dict[str, Any]:
    """Move the activity to ``data.status`` on ``data.changed_on`` (default today), keeping
    the history; see the module's docstring for the transitions."""
    require_admin(actor, "follow up activities")
    workplan = await load_workplan(session, workplan_id)
    activity = await _load_activity(session, workplan_id, activity_id)
    if data.status not in TRANSITIONS[activity.status]:
        allowed = ", ".join(sorted(TRANSITIONS[activity.status]))
        raise Conflict(
            "invalid-transition", f"The activity is {activity.status.value}; from there it may become {allowed}."
        )
    changed_on = data.changed_on or clock.today()
    _check_status_day(changed_on, after=activity.status_changed_on)
    changes: dict[str, tuple[Any, Any]] = {
        "status": (activity.status.value, data.status.value),
        "status_changed_on": (activity.status_changed_on, changed_on),
    }
    if data.status == ActivityStatus.COMPLETED and activity.end_date is None:
        end_date = data.end_date or changed_on
        _check_within(workplan, "end_date", end_date)
        if end_date < activity.start_date:
            raise InvalidInput("end-before-start", f"end_date {end_date} is before the activity's start.")
        changes["end_date"] = (None, end_date)
        activity.end_date = end_date
    activity.status, activity.status_changed_on = data.status, changed_on
    session.add(ActivityStatusChange(activity_id=activity.id, status=data.status, changed_on=changed_on))
    return await _record(session, "status_changed", activity, workplan.network_id, actor, changes=changes)


async def add_output(
    session: AsyncSession, *, workplan_id: uuid.UUID, activity_id: uuid.UUID, data: OutputCreate, actor: Principal
) -> dict[str, Any]:
    """An output of the activity (a title, an https link, the day it was published)."""
    require_admin(actor, "record outputs")
    workplan = await load_workplan(session, workplan_id)
    activity = await _load_activity(session, workplan_id, activity_id)
    if data.published_on < activity.start_date:
        raise InvalidInput(
            "output-before-activity", f"published_on {data.published_on} is before the activity started."
        )
    session.add(ActivityOutput(activity_id=activity.id, **data.model_dump()))
    activity.updated_at = clock.now()
    return await _record(
        session, "output_added", activity, workplan.network_id, actor, output=data.model_dump(mode="json")
    )


async def update_workplan(
    session: AsyncSession,
    *,
    workplan_id: uuid.UUID,
    data: WorkplanUpdate,
    expected_version: int | None,
    actor: Principal,
) -> dict[str, Any]:
    """Retitle or redate a workplan; every date of its activities stays within the new period."""
    require_admin(actor, "change workplans")
    workplan = await load_workplan(session, workplan_id)
    check_version("workplan", workplan.version, expected_version)
    changes = apply_patch(workplan, data, required=REQUIRED_ON_WORKPLAN)
    if workplan.end_date < workplan.start_date:
        raise InvalidInput(
            "invalid-period", f"end_date ({workplan.end_date}) is before start_date ({workplan.start_date})."
        )
    if "start_date" in changes or "end_date" in changes:
        await _check_activities_within(session, workplan)
    return await record_change(
        session,
        event="updated",
        subject_type="workplan",
        subject_id=workplan.id,
        network_id=workplan.network_id,
        load_row=repository.get_workplan_row,
        actor=actor,
        changes=changes,
    )


async def _check_activities_within(session: AsyncSession, workplan: Workplan) -> None:
    outside = (
        await session.execute(
            select(Activity.title, Activity.start_date, Activity.end_date, func.count().over())
            .where(
                Activity.workplan_id == workplan.id,
                or_(
                    Activity.start_date < workplan.start_date,
                    Activity.start_date > workplan.end_date,
                    Activity.end_date > workplan.end_date,
                ),
            )
            .order_by(Activity.start_date, Activity.id)
            .limit(3)
        )
    ).all()
    if outside:
        named = "; ".join(f"{title} ({start} to {end or 'open'})" for title, start, end, _ in outside)
        raise InvalidInput(
            "activities-outside-period",
            f"{outside[0][3]} activities would fall outside {workplan.start_date} to {workplan.end_date}, "
            f"among them {named}; redate them first, or choose a period that holds them.",
        )


async def update_activity(
    session: AsyncSession,
    *,
    workplan_id: uuid.UUID,
    activity_id: uuid.UUID,
    data: ActivityUpdate,
    expected_version: int | None,
    actor: Principal,
) -> dict[str, Any]:
    """Change an activity's title, leads, working group or workstream, objectives, principles
    or dates; its status changes through .../status."""
    require_admin(actor, "plan activities")
    workplan = await load_workplan(session, workplan_id)
    activity = await _load_activity(session, workplan_id, activity_id)
    check_version("activity", activity.version, expected_version)
    changes = apply_patch(activity, data, required=REQUIRED_ON_ACTIVITY, skip=frozenset({"lead_entity_ids"}))
    await _check_activity(session, workplan, activity, changes)
    if data.lead_entity_ids is not None:
        changes |= await _replace_leads(session, activity, data.lead_entity_ids)
    return await _record(session, "updated", activity, workplan.network_id, actor, changes=changes)


async def _check_activity(
    session: AsyncSession, workplan: Workplan, activity: Activity, changes: dict[str, tuple[Any, Any]]
) -> None:
    """The rules of a new activity, on the activity as patched."""
    _check_within(workplan, "start_date", activity.start_date)
    _check_within(workplan, "end_date", activity.end_date)
    if activity.end_date is not None and activity.end_date < activity.start_date:
        raise InvalidInput(
            "end-before-start", f"end_date ({activity.end_date}) is before start_date ({activity.start_date})."
        )
    if activity.status == ActivityStatus.COMPLETED and activity.end_date is None:
        raise InvalidInput("completed-needs-end", "A completed activity has an end date: it cannot be cleared.")
    if "working_group_id" in changes or "workstream" in changes:
        await _check_working_group(session, workplan, activity.working_group_id, activity.workstream)
    if "start_date" in changes:
        first = await session.scalar(
            select(func.min(ActivityOutput.published_on)).where(ActivityOutput.activity_id == activity.id)
        )
        if first is not None and first < activity.start_date:
            raise InvalidInput(
                "output-before-activity",
                f"An output of the activity was published on {first}; start the activity on or before that day.",
            )


async def _replace_leads(
    session: AsyncSession, activity: Activity, lead_entity_ids: list[uuid.UUID]
) -> dict[str, tuple[Any, Any]]:
    await _check_leads(session, lead_entity_ids)
    removed = await session.scalars(
        delete(ActivityLead).where(ActivityLead.activity_id == activity.id).returning(ActivityLead.entity_id)
    )
    before = sorted(removed.all())
    session.add_all(ActivityLead(activity_id=activity.id, entity_id=each) for each in lead_entity_ids)
    after = sorted(lead_entity_ids)
    if before == after:
        return {}
    activity.updated_at = clock.now()
    return {"lead_entity_ids": (before, after)}


async def report_overdue_activities(session: AsyncSession, *, today: date) -> int:
    """``activity.overdue`` for each activity not completed whose end date has passed, once
    per end date (a new end date may fall due again); returns how many."""
    due = await repository.overdue_activities(session, today=today)
    if not due:
        return 0
    changes: dict[uuid.UUID, dict[str, tuple[Any, Any]]] = {}
    for activity, _ in due:
        changes[activity.id] = {"overdue_reported_for": (activity.overdue_reported_for, activity.end_date)}
        activity.overdue_reported_for = activity.end_date
    await session.flush()
    rows = await repository.get_activity_rows(session, list(changes))
    await append_events(
        session,
        [
            loaded_change(
                event="overdue",
                subject_type="activity",
                subject_id=activity.id,
                row=rows[activity.id],
                actor=SYSTEM,
                network_id=network_id,
                changes=changes[activity.id],
            )
            for activity, network_id in due
        ],
    )
    return len(due)
