import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator
from sqlalchemy import case, null
from sqlalchemy.orm import aliased

from services.commitments.models import ChampionCountry, Pledge, PledgeStatus
from services.dates import RegistryDate
from services.entities.models import Entity
from services.entities.schemas import EntityRef
from services.reference.types import CountryCode
from services.schemas import MULTI_LINE, SINGLE_LINE, InputModel, OutputModel
from services.shapes import From, json_object

Objective = Annotated[int, Field(ge=1, le=23, description="A GCM objective, 1 to 23: GET /v1/gcm/objectives.")]


class ChampionCountryCreate(InputModel):
    country_code: CountryCode
    start_date: RegistryDate
    end_date: RegistryDate | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "ChampionCountryCreate":
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError(f"end_date ({self.end_date}) is before start_date ({self.start_date})")
        return self


class ChampionCountryEnd(InputModel):
    end_date: RegistryDate = Field(description="The country's last day as a champion.")


class ChampionCountryOut(OutputModel):
    id: Annotated[uuid.UUID, From(ChampionCountry.id)]
    network_id: Annotated[uuid.UUID, From(ChampionCountry.network_id)]
    country_code: Annotated[str, From(ChampionCountry.country_code)]
    start_date: Annotated[date, From(ChampionCountry.start_date)]
    end_date: Annotated[date | None, From(ChampionCountry.end_date)]
    is_demo: Annotated[bool, From(ChampionCountry.is_demo)]
    created_at: Annotated[datetime, From(ChampionCountry.created_at)]
    updated_at: Annotated[datetime, From(ChampionCountry.updated_at)]


class PledgeCreate(InputModel):
    read_only = frozenset({"pledger_entity", "status_changed_on"})
    changed_by_action = {"status": "POST /v1/pledges/{pledge_id}/status changes it."}

    network_id: uuid.UUID
    pledger_country_code: CountryCode | None = Field(None, description="A member state's pledge.")
    pledger_entity_id: uuid.UUID | None = Field(None, description="Another stakeholder's pledge.")
    title: Annotated[str, StringConstraints(min_length=1, max_length=300), SINGLE_LINE]
    description: Annotated[str, StringConstraints(max_length=10000), MULTI_LINE] | None = None
    gcm_objectives: list[Objective] = Field(default_factory=list, max_length=23)
    due_date: RegistryDate

    @field_validator("gcm_objectives")
    @classmethod
    def _no_repeats(cls, values: list[int]) -> list[int]:
        if len(set(values)) != len(values):
            raise ValueError("list the same value once")
        return values

    @model_validator(mode="after")
    def _one_pledger(self) -> "PledgeCreate":
        if (self.pledger_country_code is None) == (self.pledger_entity_id is None):
            raise ValueError(
                "name the pledger once: pledger_country_code for a member state, or pledger_entity_id for another stakeholder"
            )
        return self


class PledgeStatusChange(InputModel):
    status: PledgeStatus
    changed_on: RegistryDate | None = Field(None, description="Default: today.")


PledgerEntity = aliased(Entity, name="pledger_entity")  # outer-joined by the repository
_PLEDGER_ENTITY = case((PledgerEntity.id.is_(None), null()), else_=json_object(EntityRef, PledgerEntity))


class PledgeOut(OutputModel):
    id: Annotated[uuid.UUID, From(Pledge.id)]
    network_id: Annotated[uuid.UUID, From(Pledge.network_id)]
    pledger_country_code: Annotated[str | None, From(Pledge.pledger_country_code)]
    pledger_entity: Annotated[EntityRef | None, From(_PLEDGER_ENTITY)]
    title: Annotated[str, From(Pledge.title)]
    description: Annotated[str | None, From(Pledge.description)]
    gcm_objectives: Annotated[list[int], From(Pledge.gcm_objectives)]
    due_date: Annotated[date, From(Pledge.due_date)]
    status: Annotated[PledgeStatus, From(Pledge.status)]
    status_changed_on: Annotated[date, From(Pledge.status_changed_on)]
    is_demo: Annotated[bool, From(Pledge.is_demo)]
    created_at: Annotated[datetime, From(Pledge.created_at)]
    updated_at: Annotated[datetime, From(Pledge.updated_at)]
