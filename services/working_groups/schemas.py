import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator
from sqlalchemy import Date, bindparam, case, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased

from services.dates import RegistryDate
from services.entities.models import Entity
from services.entities.schemas import EntityRef
from services.reference.types import SdgTarget
from services.schemas import (
    MULTI_LINE,
    SINGLE_LINE,
    TRANSLATIONS_DESCRIPTION,
    Form,
    InputModel,
    OtherLanguage,
    OutputModel,
)
from services.shapes import From, json_array, json_object
from services.working_groups.models import (
    PostKind,
    WorkingGroup,
    WorkingGroupObjective,
    WorkingGroupPost,
    WorkingGroupPrinciple,
    WorkingGroupStatus,
)

SLUG = Form(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    "a slug: lower-case letters and digits, words joined by single hyphens, such as data-and-evidence",
)
Slug = Annotated[str, StringConstraints(min_length=1, max_length=100), SLUG]
Objective = Annotated[int, Field(ge=1, le=23)]
PrincipleCode = Annotated[str, StringConstraints(min_length=1, max_length=40), SINGLE_LINE]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000), MULTI_LINE]
Name = Annotated[str, StringConstraints(min_length=1, max_length=300), SINGLE_LINE]
TermsOfReference = Annotated[str, StringConstraints(max_length=20000), MULTI_LINE]

# The fields a working group's translations may hold.
TRANSLATED_FIELDS = ("name", "terms_of_reference")


class WorkingGroupTexts(InputModel):
    """A working group's name and terms of reference in one language; each is optional."""

    name: Name | None = None
    terms_of_reference: TermsOfReference | None = None


WorkingGroupTranslations = Annotated[
    dict[OtherLanguage, WorkingGroupTexts], Field(max_length=5, description=TRANSLATIONS_DESCRIPTION)
]


def _unique(values: list[object] | None) -> list[object] | None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError("list the same value once")
    return values


class WorkingGroupFields(InputModel):
    """Fields shared by create and update."""

    name: Name | None = None
    slug: Slug | None = None
    terms_of_reference: TermsOfReference | None = None
    translations: WorkingGroupTranslations | None = None
    gcm_objectives: list[Objective] | None = Field(
        None, max_length=23, description="GCM objectives (1-23) it works on."
    )
    guiding_principles: list[PrincipleCode] | None = Field(None, max_length=10, description="Guiding principle codes.")
    sdg_targets: list[SdgTarget] | None = Field(None, max_length=50, description="SDG targets, e.g. 10.7, 10.c.")
    secretariat_entity_id: uuid.UUID | None = Field(
        None, description="Another member to serve as secretariat; unset, the network's lead secretariat does."
    )
    established_by_meeting_id: uuid.UUID | None = Field(
        None, description="The network's meeting that set the group up, e.g. the framing conference."
    )

    _no_repeats = field_validator("gcm_objectives", "guiding_principles", "sdg_targets")(_unique)


class WorkingGroupCreate(WorkingGroupFields):
    read_only = frozenset({"activated_on", "closed_on", "close_reason", "current_chairs", "secretariat"})

    network_id: uuid.UUID
    name: Name
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
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500), MULTI_LINE] | None = None


Secretariat = aliased(Entity, name="secretariat_entity")  # joined by the repository
ChairEntity = aliased(Entity, name="chair_entity")
# The day the current chairs are read for: the caller binds it (repository.get_group_row).
CHAIRS_ON = bindparam("chairs_on", type_=Date)


def post_active_on(day: Any) -> Any:
    """The condition "this post is held on ``day``" (a date or a bound parameter)."""
    return (WorkingGroupPost.start_date <= day) & or_(
        WorkingGroupPost.end_date.is_(None), WorkingGroupPost.end_date >= day
    )


class ChairRef(OutputModel):
    post_id: Annotated[uuid.UUID, From(WorkingGroupPost.id)]
    entity: Annotated[EntityRef, From(json_object(EntityRef, ChairEntity))]
    start_date: Annotated[RegistryDate, From(WorkingGroupPost.start_date)]


_OBJECTIVES = (
    select(
        func.coalesce(
            func.array_agg(
                aggregate_order_by(WorkingGroupObjective.objective_number, WorkingGroupObjective.objective_number)
            ),
            literal_column("'{}'::smallint[]"),
        )
    )
    .where(WorkingGroupObjective.working_group_id == WorkingGroup.id)
    .scalar_subquery()
)
_PRINCIPLES = (
    select(
        func.coalesce(
            func.array_agg(
                aggregate_order_by(WorkingGroupPrinciple.principle_code, WorkingGroupPrinciple.principle_code)
            ),
            literal_column("'{}'::varchar[]"),
        )
    )
    .where(WorkingGroupPrinciple.working_group_id == WorkingGroup.id)
    .scalar_subquery()
)
# The chairs on CHAIRS_ON, longest-serving first.
_CURRENT_CHAIRS = (
    select(json_array(json_object(ChairRef), WorkingGroupPost.start_date, WorkingGroupPost.id))
    .select_from(WorkingGroupPost)
    .join(ChairEntity, ChairEntity.id == WorkingGroupPost.entity_id)
    .where(
        WorkingGroupPost.working_group_id == WorkingGroup.id,
        WorkingGroupPost.kind == PostKind.CHAIR,
        post_active_on(CHAIRS_ON),
    )
    .scalar_subquery()
)


class WorkingGroupOut(OutputModel):
    id: Annotated[uuid.UUID, From(WorkingGroup.id)]
    network_id: Annotated[uuid.UUID, From(WorkingGroup.network_id)]
    name: Annotated[str, From(WorkingGroup.name)]
    slug: Annotated[str, From(WorkingGroup.slug)]
    terms_of_reference: Annotated[str | None, From(WorkingGroup.terms_of_reference)]
    translations: Annotated[dict[str, dict[str, str]], From(WorkingGroup.translations)] = Field(
        description="The name and terms of reference in the other official languages, as stored; name and "
        "terms_of_reference above are in the language of Content-Language, English where a field has no "
        "translation."
    )
    gcm_objectives: Annotated[list[int], From(_OBJECTIVES)]
    guiding_principles: Annotated[list[str], From(_PRINCIPLES)]
    sdg_targets: Annotated[list[str], From(WorkingGroup.sdg_targets)]
    status: Annotated[WorkingGroupStatus, From(WorkingGroup.status)]
    activated_on: Annotated[date | None, From(WorkingGroup.activated_on)]
    closed_on: Annotated[date | None, From(WorkingGroup.closed_on)]
    close_reason: Annotated[str | None, From(WorkingGroup.close_reason)]
    # Its own secretariat, or the network's lead secretariat (today) when it has none.
    secretariat: Annotated[EntityRef, From(json_object(EntityRef, Secretariat))]
    secretariat_is_coordinator: Annotated[bool, From(WorkingGroup.secretariat_entity_id.is_(None))]
    established_by_meeting_id: Annotated[uuid.UUID | None, From(WorkingGroup.established_by_meeting_id)]
    current_chairs: Annotated[list[ChairRef], From(_CURRENT_CHAIRS)]
    is_demo: Annotated[bool, From(WorkingGroup.is_demo)]
    created_at: Annotated[datetime, From(WorkingGroup.created_at)]
    updated_at: Annotated[datetime, From(WorkingGroup.updated_at)]


# A seat's holder: a UN-system member of the network, or a stakeholder (not a member).
SEAT_TYPE = case((Entity.un_system, "network_member"), else_="stakeholder")


class PostOut(OutputModel):
    id: Annotated[uuid.UUID, From(WorkingGroupPost.id)]
    working_group_id: Annotated[uuid.UUID, From(WorkingGroupPost.working_group_id)]
    kind: Annotated[PostKind, From(WorkingGroupPost.kind)]
    entity: Annotated[EntityRef, From(json_object(EntityRef, Entity))]  # joined on entity_id
    seat_type: Annotated[Literal["network_member", "stakeholder"], From(SEAT_TYPE)] = Field(
        description="network_member: a UN-system entity, a member of the network when its post started; "
        "stakeholder: a member state, civil society, private sector, academic or local authority seated "
        "in the group, which the seat does not make a member of the network."
    )
    start_date: Annotated[date, From(WorkingGroupPost.start_date)]
    end_date: Annotated[date | None, From(WorkingGroupPost.end_date)]
    end_reason: Annotated[str | None, From(WorkingGroupPost.end_reason)]
