"""Workplan events: workplans, their activities' progress, outputs and overdue activities."""

import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel

from services.events.types.common import Changes, EventType, Mail, Recipients, RecordRef, Stamps, payload


class WorkplanRecord(Stamps):
    id: uuid.UUID
    network_id: uuid.UUID
    title: str
    start_date: date
    end_date: date
    is_demo: bool


class ActivityRecord(Stamps):
    id: uuid.UUID
    workplan_id: uuid.UUID
    title: str
    leads: list[RecordRef]
    working_group_id: uuid.UUID | None
    workstream: str | None
    gcm_objectives: list[int]
    guiding_principles: list[str]
    start_date: date
    end_date: date | None
    status: str
    status_changed_on: date
    status_history: list[dict[str, Any]]
    outputs: list[dict[str, Any]]


class OutputRecord(BaseModel):
    title: str
    link: str
    published_on: date


WorkplanPayload = payload("WorkplanPayload", "The workplan.", workplan=(WorkplanRecord, ...))
WorkplanChangedPayload = payload(
    "WorkplanChangedPayload",
    "The workplan after the change, and the changed fields.",
    workplan=(WorkplanRecord, ...),
    changes=(Changes, ...),
)
ActivityPayload = payload("ActivityPayload", "The activity.", activity=(ActivityRecord, ...))
ActivityChangedPayload = payload(
    "ActivityChangedPayload",
    "The activity after the change, and the changed fields.",
    activity=(ActivityRecord, ...),
    changes=(Changes, ...),
)
OutputAddedPayload = payload(
    "ActivityOutputAddedPayload",
    "The activity, and the output added.",
    activity=(ActivityRecord, ...),
    output=(OutputRecord, ...),
)

TYPES = (
    EventType(
        "workplan.created", "A network published a workplan for a period.", WorkplanPayload, "Workplan published"
    ),
    EventType(
        "workplan.updated",
        "A workplan was retitled or redated (its activities stay within its period).",
        WorkplanChangedPayload,
        "Workplan updated",
    ),
    EventType("activity.created", "An activity was added to a workplan.", ActivityPayload, "Workplan activity added"),
    EventType(
        "activity.updated",
        "An activity's title, leads, working group or workstream, objectives, principles or dates changed.",
        ActivityChangedPayload,
        "Workplan activity updated",
    ),
    EventType(
        "activity.status_changed",
        "An activity started, was completed or reopened (dated; the history is kept).",
        ActivityChangedPayload,
        "Workplan activity status changed",
    ),
    EventType(
        "activity.output_added", "An activity published an output.", OutputAddedPayload, "Activity output published"
    ),
    EventType(
        "activity.overdue",
        "An activity not completed passed its end date (once per end date).",
        ActivityChangedPayload,
        "Workplan activity overdue",
        mail=Mail(
            "alert",
            Recipients.NETWORK_COORDINATOR,
            subject="Activity overdue since {activity[end_date]}: {activity[title]}",
            summary="The workplan activity {activity[title]} was to end on {activity[end_date]}; its status is "
            "{activity[status]}.\nRecord its progress in the registry, or plan it anew.\n",
        ),
    ),
)
