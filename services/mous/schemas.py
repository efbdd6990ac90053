import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from services.dates import RegistryDate
from services.entities.schemas import EntityRef
from services.mous.models import MouStatus
from services.schemas import InputModel, OutputModel

Objective = Annotated[int, Field(ge=1, le=23)]
ReferenceNumber = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9/._-]*$")
]
Title = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Person = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AreaIn(InputModel):
    description: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    gcm_objectives: list[Objective] = Field(min_length=1, max_length=23)
    lead_entity_id: uuid.UUID = Field(description="The party that leads this area.")
    supporting_entity_ids: list[uuid.UUID] = Field(default_factory=list, description="Other parties supporting it.")

    @model_validator(mode="after")
    def _distinct(self) -> "AreaIn":
        if len(set(self.gcm_objectives)) != len(self.gcm_objectives):
            raise ValueError("list each objective once")
        if len(set(self.supporting_entity_ids)) != len(self.supporting_entity_ids):
            raise ValueError("list each supporting party once")
        if self.lead_entity_id in self.supporting_entity_ids:
            raise ValueError("the lead party is not also a supporting party")
        return self


class DocumentIn(InputModel):
    uri: Annotated[str, StringConstraints(max_length=2000, pattern=r"^(https?://|urn:)\S+$")]
    title: Title
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class MouFields(InputModel):
    read_only = frozenset(
        {
            "predecessor_id",
            "successor_id",
            "signed_on",
            "activated_on",
            "terminated_on",
            "termination_reason",
            "superseded_on",
            "parties",
        }
    )

    title: Title | None = None
    reference_number: ReferenceNumber | None = None
    party_entity_ids: list[uuid.UUID] | None = Field(
        None, min_length=2, max_length=50, description="Two or more UN-system entities."
    )
    areas: list[AreaIn] | None = Field(None, max_length=100)
    documents: list[DocumentIn] | None = Field(None, max_length=50)
    effective_date: RegistryDate | None = None
    end_date: RegistryDate | None = None
    review_due_date: RegistryDate | None = Field(None, description="Default: the effective date plus MOU_REVIEW_YEARS.")

    @model_validator(mode="after")
    def _shape(self) -> "MouFields":
        if self.party_entity_ids is not None and len(set(self.party_entity_ids)) != len(self.party_entity_ids):
            raise ValueError("list each party once")
        if self.effective_date and self.end_date and self.end_date < self.effective_date:
            raise ValueError("end_date must be on or after effective_date")
        return self


class MouCreate(MouFields):
    network_id: uuid.UUID = Field(description="The network in whose work the MoU divides responsibilities.")
    title: Title
    reference_number: ReferenceNumber
    party_entity_ids: list[uuid.UUID] = Field(min_length=2, max_length=50)


class MouUpdate(MouFields):
    read_only = MouFields.read_only | {"network_id"}


class MouSign(InputModel):
    entity_id: uuid.UUID = Field(description="The party signing.")
    signatory_name: Person
    signatory_title: Person
    signed_on: RegistryDate


class MouTerminate(InputModel):
    terminated_on: RegistryDate
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class MouRefresh(InputModel):
    reference_number: ReferenceNumber = Field(description="The new draft's own reference number.")
    title: Title | None = None
    effective_date: RegistryDate | None = None


class PartyOut(OutputModel):
    entity: EntityRef
    signatory_name: str | None
    signatory_title: str | None
    signed_on: date | None


class AreaOut(OutputModel):
    id: uuid.UUID
    position: int
    description: str
    gcm_objectives: list[int]
    lead: EntityRef
    supporting: list[EntityRef]


class DocumentOut(OutputModel):
    uri: str
    title: str
    sha256: str


class MouOut(OutputModel):
    id: uuid.UUID
    network_id: uuid.UUID
    title: str
    reference_number: str
    status: MouStatus
    effective_date: date | None
    end_date: date | None
    review_due_date: date | None
    predecessor_id: uuid.UUID | None
    successor_id: uuid.UUID | None
    signed_on: date | None
    activated_on: date | None
    terminated_on: date | None
    termination_reason: str | None
    superseded_on: date | None
    parties: list[PartyOut]
    areas: list[AreaOut]
    documents: list[DocumentOut]
    is_demo: bool
    created_at: datetime
    updated_at: datetime
