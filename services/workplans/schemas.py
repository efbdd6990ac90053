import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator
from sqlalchemy import select

from services.dates import RegistryDate
from services.entities.models import Entity
from services.entities.schemas import EntityRef
from services.gcm.data import PRINCIPLES
from services.schemas import SECURE_WEB_ADDRESS, SINGLE_LINE, InputModel, OutputModel
from services.shapes import From, json_array, json_object
from services.workplans.models import (
    Activity,
    ActivityLead,
    ActivityOutput,
    ActivityStatus,
    ActivityStatusChange,
    Workplan,
)

Title = Annotated[str, StringConstraints(min_length=1, max_length=300), SINGLE_LINE]
Objective = Annotated[int, Field(ge=1, le=23, description="A GCM objective, 1 to 23: GET /v1/gcm/objectives.")]
PrincipleCode = Annotated[str, StringConstraints(min_length=1, max_length=40), SINGLE_LINE]
HttpsUrl = Annotated[str, StringConstraints(max_length=2000), SECURE_WEB_ADDRESS, SINGLE_LINE]
PRINCIPLE_CODES = frozenset(code for code, _ in PRINCIPLES)


class WorkplanCreate(InputModel):
    network_id: uuid.UUID
    title: Title
    start_date: RegistryDate
    end_date: RegistryDate

    @model_validator(mode="after")
    def _ordered(self) -> "WorkplanCreate":
        if self.end_date < self.start_date:
            raise ValueError(f"end_date ({self.end_date}) is before start_date ({self.start_date})")
        return self


class ActivityCreate(InputModel):
    read_only = frozenset({"status_history", "outputs", "workplan_id", "leads"})

    title: Title
    lead_entity_ids: list[uuid.UUID] = Field(min_length=1, max_length=20, description="One or more lead entities.")
    working_group_id: uuid.UUID | None = Field(None, description="A working group of the workplan's network.")
    workstream: Title | None = Field(None, description="The workstream, when no working group carries it.")
    gcm_objectives: list[Objective] = Field(default_factory=list, max_length=23)
    guiding_principles: list[PrincipleCode] = Field(
        default_factory=list, max_length=10, description="Guiding principle codes: GET /v1/gcm/principles."
    )
    start_date: RegistryDate
    end_date: RegistryDate | None = None
    status: ActivityStatus = Field(
        ActivityStatus.YET_TO_START, description="Where it stands as it is recorded; later changes: .../status."
    )
    status_changed_on: RegistryDate | None = Field(None, description="The day it reached that status; default: today.")

    @field_validator("lead_entity_ids", "gcm_objectives", "guiding_principles")
    @classmethod
    def _no_repeats(cls, values: list[object]) -> list[object]:
        if len(set(values)) != len(values):
            raise ValueError("list the same value once")
        return values

    @field_validator("guiding_principles")
    @classmethod
    def _known_principles(cls, values: list[str]) -> list[str]:
        unknown = sorted(set(values) - PRINCIPLE_CODES)
        if unknown:
            raise ValueError(f"unknown guiding principle codes {', '.join(unknown)}; GET /v1/gcm/principles lists them")
        return values

    @model_validator(mode="after")
    def _ordered(self) -> "ActivityCreate":
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError(f"end_date ({self.end_date}) is before start_date ({self.start_date})")
        return self


class WorkplanUpdate(InputModel):
    """A merge patch; the activities' dates must stay within the new period."""

    title: Title | None = None
    start_date: RegistryDate | None = None
    end_date: RegistryDate | None = None


REQUIRED_ON_WORKPLAN = frozenset({"title", "start_date", "end_date"})


class ActivityUpdate(InputModel):
    """A merge patch; ``lead_entity_ids`` replaces the leads. Dates stay within the workplan's period."""

    read_only = frozenset({"status_history", "outputs", "workplan_id", "leads"})
    changed_by_action = {
        "status": "POST /v1/workplans/{workplan_id}/activities/{activity_id}/status changes it.",
        "status_changed_on": "POST /v1/workplans/{workplan_id}/activities/{activity_id}/status changes it.",
    }

    title: Title | None = None
    lead_entity_ids: list[uuid.UUID] | None = Field(None, min_length=1, max_length=20, description="The new leads.")
    working_group_id: uuid.UUID | None = Field(None, description="A working group of the workplan's network.")
    workstream: Title | None = Field(None, description="The workstream, when no working group carries it.")
    gcm_objectives: list[Objective] | None = Field(None, max_length=23)
    guiding_principles: list[PrincipleCode] | None = Field(
        None, max_length=10, description="Guiding principle codes: GET /v1/gcm/principles."
    )
    start_date: RegistryDate | None = None
    end_date: RegistryDate | None = None

    @field_validator("lead_entity_ids", "gcm_objectives", "guiding_principles")
    @classmethod
    def _no_repeats(cls, values: list[object] | None) -> list[object] | None:
        if values is not None and len(set(values)) != len(values):
            raise ValueError("list the same value once")
        return values

    @field_validator("guiding_principles")
    @classmethod
    def _known_principles(cls, values: list[str] | None) -> list[str] | None:
        unknown = sorted(set(values or ()) - PRINCIPLE_CODES)
        if unknown:
            raise ValueError(f"unknown guiding principle codes {', '.join(unknown)}; GET /v1/gcm/principles lists them")
        return values


REQUIRED_ON_ACTIVITY = frozenset({"title", "lead_entity_ids", "gcm_objectives", "guiding_principles", "start_date"})


class ActivityStatusChangeIn(InputModel):
    status: ActivityStatus
    changed_on: RegistryDate | None = Field(None, description="Default: today.")
    end_date: RegistryDate | None = Field(
        None, description="The activity's end, when completing one that had none (default: the day it completed)."
    )


class OutputCreate(InputModel):
    title: Title
    link: HttpsUrl = Field(description="Where the output is published (https).")
    published_on: RegistryDate


class WorkplanOut(OutputModel):
    id: Annotated[uuid.UUID, From(Workplan.id)]
    network_id: Annotated[uuid.UUID, From(Workplan.network_id)]
    title: Annotated[str, From(Workplan.title)]
    start_date: Annotated[date, From(Workplan.start_date)]
    end_date: Annotated[date, From(Workplan.end_date)]
    is_demo: Annotated[bool, From(Workplan.is_demo)]
    created_at: Annotated[datetime, From(Workplan.created_at)]
    updated_at: Annotated[datetime, From(Workplan.updated_at)]


class StatusChangeOut(OutputModel):
    status: Annotated[ActivityStatus, From(ActivityStatusChange.status)]
    changed_on: Annotated[date, From(ActivityStatusChange.changed_on)]


class OutputOut(OutputModel):
    id: Annotated[uuid.UUID, From(ActivityOutput.id)]
    title: Annotated[str, From(ActivityOutput.title)]
    link: Annotated[str, From(ActivityOutput.link)]
    published_on: Annotated[date, From(ActivityOutput.published_on)]


_LEADS = (
    select(json_array(json_object(EntityRef), Entity.acronym, Entity.id))
    .select_from(ActivityLead)
    .join(Entity, Entity.id == ActivityLead.entity_id)
    .where(ActivityLead.activity_id == Activity.id)
    .scalar_subquery()
)
_HISTORY = (
    select(json_array(json_object(StatusChangeOut), ActivityStatusChange.changed_on, ActivityStatusChange.id))
    .where(ActivityStatusChange.activity_id == Activity.id)
    .scalar_subquery()
)
_OUTPUTS = (
    select(json_array(json_object(OutputOut), ActivityOutput.published_on, ActivityOutput.id))
    .where(ActivityOutput.activity_id == Activity.id)
    .scalar_subquery()
)


class ActivityOut(OutputModel):
    id: Annotated[uuid.UUID, From(Activity.id)]
    workplan_id: Annotated[uuid.UUID, From(Activity.workplan_id)]
    title: Annotated[str, From(Activity.title)]
    leads: Annotated[list[EntityRef], From(_LEADS)]
    working_group_id: Annotated[uuid.UUID | None, From(Activity.working_group_id)]
    workstream: Annotated[str | None, From(Activity.workstream)]
    gcm_objectives: Annotated[list[int], From(Activity.gcm_objectives)]
    guiding_principles: Annotated[list[str], From(Activity.guiding_principles)]
    start_date: Annotated[date, From(Activity.start_date)]
    end_date: Annotated[date | None, From(Activity.end_date)]
    status: Annotated[ActivityStatus, From(Activity.status)]
    status_changed_on: Annotated[date, From(Activity.status_changed_on)]
    status_history: Annotated[list[StatusChangeOut], From(_HISTORY)]
    outputs: Annotated[list[OutputOut], From(_OUTPUTS)]
    created_at: Annotated[datetime, From(Activity.created_at)]
    updated_at: Annotated[datetime, From(Activity.updated_at)]
