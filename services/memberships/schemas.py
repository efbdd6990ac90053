import uuid
from datetime import date, datetime
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints, model_validator

from services.dates import RegistryDate
from services.entities.models import Entity
from services.entities.schemas import EntityRef
from services.memberships.models import Membership, MembershipTier
from services.schemas import MULTI_LINE, InputModel, OutputModel
from services.shapes import From, json_object

Statement = Annotated[str, StringConstraints(min_length=1, max_length=4000), MULTI_LINE]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500), MULTI_LINE]
Notes = Annotated[str, StringConstraints(max_length=10000), MULTI_LINE]

CORE_NEEDS = (
    "a core membership records both mandate_relevance (the entity's clear mandate-driven relevance) and capacity"
)


class MembershipCreate(InputModel):
    read_only = frozenset({"previous_membership_id", "end_reason", "entity"})

    network_id: uuid.UUID | None = Field(
        None, description="Required on /v1/memberships; taken from the path on /v1/networks/{id}/memberships."
    )
    entity_id: uuid.UUID
    tier: MembershipTier
    start_date: RegistryDate
    end_date: RegistryDate | None = Field(
        None, description="Only to record a past membership; otherwise use the end action."
    )
    mandate_relevance: Statement | None = None
    capacity: Statement | None = None
    notes: Notes | None = None

    @model_validator(mode="after")
    def _rules_of_shape(self) -> "MembershipCreate":
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date must be on or after start_date")
        if self.tier == MembershipTier.CORE and not (self.mandate_relevance and self.capacity):
            raise ValueError(CORE_NEEDS)
        return self


class MembershipUpdate(InputModel):
    read_only = frozenset({"network_id", "entity_id", "previous_membership_id", "end_reason", "entity"})
    changed_by_action: ClassVar[dict[str, str]] = {
        "tier": "change it with POST /v1/memberships/{id}/change-tier, which keeps the history",
        "end_date": "end a membership with POST /v1/memberships/{id}/end",
    }

    start_date: RegistryDate | None = None
    mandate_relevance: Statement | None = None
    capacity: Statement | None = None
    notes: Notes | None = None


class MembershipEnd(InputModel):
    end_date: RegistryDate = Field(description="The last day of the membership.")
    reason: Reason | None = None


class TierChange(InputModel):
    tier: MembershipTier
    effective_date: RegistryDate = Field(
        description="The first day in the new tier; the current period ends the day before."
    )
    mandate_relevance: Statement | None = None
    capacity: Statement | None = None
    notes: Notes | None = None


class MembershipOut(OutputModel):
    id: Annotated[uuid.UUID, From(Membership.id)]
    network_id: Annotated[uuid.UUID, From(Membership.network_id)]
    entity: Annotated[EntityRef, From(json_object(EntityRef, Entity))]  # joined on entity_id
    tier: Annotated[MembershipTier, From(Membership.tier)]
    start_date: Annotated[date, From(Membership.start_date)]
    end_date: Annotated[date | None, From(Membership.end_date)]
    end_reason: Annotated[str | None, From(Membership.end_reason)]
    mandate_relevance: Annotated[str | None, From(Membership.mandate_relevance)]
    capacity: Annotated[str | None, From(Membership.capacity)]
    notes: Annotated[str | None, From(Membership.notes)]
    previous_membership_id: Annotated[uuid.UUID | None, From(Membership.previous_membership_id)]
    is_demo: Annotated[bool, From(Membership.is_demo)]
    created_at: Annotated[datetime, From(Membership.created_at)]
    updated_at: Annotated[datetime, From(Membership.updated_at)]
