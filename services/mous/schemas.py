import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator
from sqlalchemy import select
from sqlalchemy.orm import aliased

from services.dates import RegistryDate
from services.entities.models import Entity
from services.entities.schemas import EntityRef
from services.mous.models import Mou, MouArea, MouAreaObjective, MouAreaSupporter, MouDocument, MouParty, MouStatus
from services.schemas import MULTI_LINE, SINGLE_LINE, VISIBLE, Form, InputModel, OutputModel
from services.shapes import From, json_array, json_object

Objective = Annotated[int, Field(ge=1, le=23)]
REFERENCE_NUMBER = Form(
    r"^[A-Za-z0-9][A-Za-z0-9/._-]*$",
    "a reference number: a letter or digit, then letters, digits or / . _ -, such as IOM/2024/07",
)
ReferenceNumber = Annotated[str, StringConstraints(min_length=1, max_length=100), REFERENCE_NUMBER, SINGLE_LINE]
DOCUMENT_ADDRESS = Form(
    rf"^(https?://|urn:){VISIBLE}+$",
    "a web address starting with https:// or http://, or a URN starting with urn:, such as https://www.iom.int/mou.pdf",
)
SHA256 = Form(r"^[0-9a-f]{64}$", "a SHA-256 digest: 64 hexadecimal digits in lower case (0-9 and a-f)")
Title = Annotated[str, StringConstraints(min_length=1, max_length=500), SINGLE_LINE]
Person = Annotated[str, StringConstraints(min_length=1, max_length=200), SINGLE_LINE]


class AreaIn(InputModel):
    description: Annotated[str, StringConstraints(min_length=1, max_length=4000), MULTI_LINE]
    gcm_objectives: list[Objective] = Field(min_length=1, max_length=23)
    lead_entity_id: uuid.UUID = Field(description="The party that leads this area.")
    supporting_entity_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=50, description="Other parties supporting it (a MoU has at most 50)."
    )

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
    uri: Annotated[str, StringConstraints(max_length=2000), DOCUMENT_ADDRESS, SINGLE_LINE]
    title: Title
    sha256: Annotated[str, StringConstraints(max_length=64), SHA256, SINGLE_LINE]


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
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000), MULTI_LINE]


class MouRefresh(InputModel):
    reference_number: ReferenceNumber = Field(description="The new draft's own reference number.")
    title: Title | None = None
    effective_date: RegistryDate | None = None


PartyEntity = aliased(Entity, name="party_entity")
LeadEntity = aliased(Entity, name="lead_entity")
SupporterEntity = aliased(Entity, name="supporter_entity")
Successor = aliased(Mou, name="successor")


class PartyOut(OutputModel):
    entity: Annotated[EntityRef, From(json_object(EntityRef, PartyEntity))]
    signatory_name: Annotated[str | None, From(MouParty.signatory_name)]
    signatory_title: Annotated[str | None, From(MouParty.signatory_title)]
    signed_on: Annotated[date | None, From(MouParty.signed_on)]


_AREA_OBJECTIVES = (
    select(json_array(MouAreaObjective.objective_number, MouAreaObjective.objective_number))
    .where(MouAreaObjective.area_id == MouArea.id)
    .scalar_subquery()
)
_AREA_SUPPORTERS = (
    select(json_array(json_object(EntityRef, SupporterEntity), SupporterEntity.acronym))
    .select_from(MouAreaSupporter)
    .join(SupporterEntity, SupporterEntity.id == MouAreaSupporter.entity_id)
    .where(MouAreaSupporter.area_id == MouArea.id)
    .scalar_subquery()
)


class AreaOut(OutputModel):
    id: Annotated[uuid.UUID, From(MouArea.id)]
    position: Annotated[int, From(MouArea.position)]
    description: Annotated[str, From(MouArea.description)]
    gcm_objectives: Annotated[list[int], From(_AREA_OBJECTIVES)]
    lead: Annotated[EntityRef, From(json_object(EntityRef, LeadEntity))]
    supporting: Annotated[list[EntityRef], From(_AREA_SUPPORTERS)]


class DocumentOut(OutputModel):
    uri: Annotated[str, From(MouDocument.uri)]
    title: Annotated[str, From(MouDocument.title)]
    sha256: Annotated[str, From(MouDocument.sha256)]


# The MoU refreshing this one, unless it was terminated.
_SUCCESSOR_ID = (
    select(Successor.id)
    .where(Successor.predecessor_id == Mou.id, Successor.status != MouStatus.TERMINATED)
    .scalar_subquery()
)
# Parties by acronym, areas by position, documents in the order given.
_PARTIES = (
    select(json_array(json_object(PartyOut), PartyEntity.acronym))
    .select_from(MouParty)
    .join(PartyEntity, PartyEntity.id == MouParty.entity_id)
    .where(MouParty.mou_id == Mou.id)
    .scalar_subquery()
)
_AREAS = (
    select(json_array(json_object(AreaOut), MouArea.position))
    .select_from(MouArea)
    .join(LeadEntity, LeadEntity.id == MouArea.lead_entity_id)
    .where(MouArea.mou_id == Mou.id)
    .scalar_subquery()
)
_DOCUMENTS = (
    select(json_array(json_object(DocumentOut), MouDocument.position))
    .where(MouDocument.mou_id == Mou.id)
    .scalar_subquery()
)


class MouOut(OutputModel):
    id: Annotated[uuid.UUID, From(Mou.id)]
    network_id: Annotated[uuid.UUID, From(Mou.network_id)]
    title: Annotated[str, From(Mou.title)]
    reference_number: Annotated[str, From(Mou.reference_number)]
    status: Annotated[MouStatus, From(Mou.status)]
    effective_date: Annotated[date | None, From(Mou.effective_date)]
    end_date: Annotated[date | None, From(Mou.end_date)]
    review_due_date: Annotated[date | None, From(Mou.review_due_date)]
    predecessor_id: Annotated[uuid.UUID | None, From(Mou.predecessor_id)]
    successor_id: Annotated[uuid.UUID | None, From(_SUCCESSOR_ID)]
    signed_on: Annotated[date | None, From(Mou.signed_on)]
    activated_on: Annotated[date | None, From(Mou.activated_on)]
    terminated_on: Annotated[date | None, From(Mou.terminated_on)]
    termination_reason: Annotated[str | None, From(Mou.termination_reason)]
    superseded_on: Annotated[date | None, From(Mou.superseded_on)]
    parties: Annotated[list[PartyOut], From(_PARTIES)]
    areas: Annotated[list[AreaOut], From(_AREAS)]
    documents: Annotated[list[DocumentOut], From(_DOCUMENTS)]
    is_demo: Annotated[bool, From(Mou.is_demo)]
    created_at: Annotated[datetime, From(Mou.created_at)]
    updated_at: Annotated[datetime, From(Mou.updated_at)]
