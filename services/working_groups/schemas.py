import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from services.dates import RegistryDate
from services.entities.schemas import EntityRef
from services.schemas import InputModel, OutputModel
from services.working_groups.models import PostKind, WorkingGroupStatus

Slug = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
Objective = Annotated[int, Field(ge=1, le=23)]
PrincipleCode = Annotated[str, StringConstraints(min_length=1, max_length=40)]
# SDG targets: 1.1 … 17.19, and the means-of-implementation targets such as 10.c.
SdgTarget = Annotated[str, StringConstraints(pattern=r"^(?:[1-9]|1[0-7])\.(?:[1-9]|1[0-9]|[a-g])$")]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000)]


def _unique(values: list[object] | None) -> list[object] | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError("list the same value once")
    return values


class WorkingGroupFields(InputModel):
    """Fields shared by create and update."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None
    slug: Slug | None = None
    terms_of_reference: Annotated[str, StringConstraints(max_length=20000)] | None = None
    gcm_objectives: list[Objective] | None = Field(
        None, max_length=23, description="GCM objectives (1-23) it works on."
    )
    guiding_principles: list[PrincipleCode] | None = Field(None, max_length=10, description="Guiding principle codes.")
    sdg_targets: list[SdgTarget] | None = Field(None, max_length=50, description="SDG targets, e.g. 10.7, 10.c.")
    secretariat_entity_id: uuid.UUID | None = Field(
        None, description="Another member to serve as secretariat; unset, the network's coordinator does."
    )
    established_by_meeting_id: uuid.UUID | None = Field(
        None, description="The network's meeting that set the group up, e.g. the framing conference."
    )

    _no_repeats = field_validator("gcm_objectives", "guiding_principles", "sdg_targets")(_unique)


class WorkingGroupCreate(WorkingGroupFields):
    read_only = frozenset({"activated_on", "closed_on", "close_reason", "current_chairs", "secretariat"})

    network_id: uuid.UUID
    name: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    slug: Slug


class WorkingGroupUpdate(WorkingGroupFields):
    read_only = frozenset({"network_id", "activated_on", "closed_on", "close_reason", "current_chairs", "secretariat"})


class WorkingGroupActivate(InputModel):
    activated_on: RegistryDate | None = Field(None, description="Default: today.")


class WorkingGroupClose(InputModel):
    closed_on: RegistryDate
    reason: Reason


class PostCreate(InputModel):
    entity_id: uuid.UUID
    start_date: RegistryDate


class PostEnd(InputModel):
    end_date: RegistryDate
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None


class ChairRef(OutputModel):
    post_id: uuid.UUID
    entity: EntityRef
    start_date: RegistryDate


class WorkingGroupOut(OutputModel):
    id: uuid.UUID
    network_id: uuid.UUID
    name: str
    slug: str
    terms_of_reference: str | None
    gcm_objectives: list[int]
    guiding_principles: list[str]
    sdg_targets: list[str]
    status: WorkingGroupStatus
    activated_on: date | None
    closed_on: date | None
    close_reason: str | None
    secretariat: EntityRef
    secretariat_is_coordinator: bool
    established_by_meeting_id: uuid.UUID | None
    current_chairs: list[ChairRef]
    is_demo: bool
    created_at: datetime
    updated_at: datetime


class PostOut(OutputModel):
    id: uuid.UUID
    working_group_id: uuid.UUID
    kind: PostKind
    entity: EntityRef
    start_date: date
    end_date: date | None
    end_reason: str | None
