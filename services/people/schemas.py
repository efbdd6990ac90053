import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from services.dates import RegistryDate
from services.entities.schemas import Email
from services.people.models import FocalPointPost, Person
from services.schemas import MULTI_LINE, SINGLE_LINE, InputModel, OutputModel
from services.shapes import From

Language = Literal["ar", "zh", "en", "fr", "ru", "es"]
PersonName = Annotated[str, StringConstraints(min_length=1, max_length=200), SINGLE_LINE]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200), SINGLE_LINE]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500), MULTI_LINE]


class PersonCreate(InputModel):
    """A person of an entity: one of its focal points, or one to be appointed."""

    read_only = frozenset({"erased_at"})

    entity_id: uuid.UUID = Field(description="The entity the person works for.")
    name: PersonName
    title: Title | None = None
    email: Email
    preferred_language: Language = Field("en", description="One of the six official languages (ISO 639-1).")


class PersonUpdate(InputModel):
    read_only = frozenset({"entity_id", "erased_at"})

    name: PersonName | None = None
    title: Title | None = None
    email: Email | None = None
    preferred_language: Language | None = None


REQUIRED_ON_PERSON = frozenset({"name", "email", "preferred_language"})


class FocalPointCreate(InputModel):
    """A focal-point post for exactly one of an entity, a network and a working group."""

    entity_id: uuid.UUID | None = Field(None, description="The person's own entity: its focal point.")
    network_id: uuid.UUID | None = Field(None, description="A network the person is focal point for.")
    working_group_id: uuid.UUID | None = Field(None, description="A working group the person is focal point for.")
    start_date: RegistryDate

    @model_validator(mode="after")
    def _one_subject(self) -> "FocalPointCreate":
        if sum(x is not None for x in (self.entity_id, self.network_id, self.working_group_id)) != 1:
            raise ValueError("give exactly one of entity_id, network_id and working_group_id")
        return self


class FocalPointEnd(InputModel):
    end_date: RegistryDate = Field(description="The post's last day.")
    reason: Reason | None = None


class PersonOut(OutputModel):
    """A person. ``name`` and ``email`` are shown to the secretariat and to the focal points
    of the person's entity only; to anyone else (and once erased) they are null."""

    id: Annotated[uuid.UUID, From(Person.id)]
    entity_id: Annotated[uuid.UUID, From(Person.entity_id)]
    name: Annotated[str | None, From(Person.name)]
    title: Annotated[str | None, From(Person.title)]
    email: Annotated[str | None, From(Person.email)]
    preferred_language: Annotated[Language, From(Person.preferred_language)]
    erased_at: Annotated[datetime | None, From(Person.erased_at)]
    is_demo: Annotated[bool, From(Person.is_demo)]
    created_at: Annotated[datetime, From(Person.created_at)]
    updated_at: Annotated[datetime, From(Person.updated_at)]


class FocalPointOut(OutputModel):
    id: Annotated[uuid.UUID, From(FocalPointPost.id)]
    person_id: Annotated[uuid.UUID, From(FocalPointPost.person_id)]
    entity_id: Annotated[uuid.UUID | None, From(FocalPointPost.entity_id)]
    network_id: Annotated[uuid.UUID | None, From(FocalPointPost.network_id)]
    working_group_id: Annotated[uuid.UUID | None, From(FocalPointPost.working_group_id)]
    start_date: Annotated[date, From(FocalPointPost.start_date)]
    end_date: Annotated[date | None, From(FocalPointPost.end_date)]
    end_reason: Annotated[str | None, From(FocalPointPost.end_reason)]
    is_demo: Annotated[bool, From(FocalPointPost.is_demo)]
    created_at: Annotated[datetime, From(FocalPointPost.created_at)]
    updated_at: Annotated[datetime, From(FocalPointPost.updated_at)]
