import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from services.entities.models import EntityKind, OfficeLevel
from services.schemas import InputModel, OutputModel

ACRONYM_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9&.\-/ ]*$"
Acronym = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=ACRONYM_PATTERN)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Email = Annotated[str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
WebUrl = Annotated[str, StringConstraints(max_length=500, pattern=r"^https?://[^\s]+$")]


class Identifier(InputModel):
    scheme: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,31}$")] = Field(
        description="Identifier scheme, e.g. `iati`, `ror`, `wikidata`, `un-m49`."
    )
    value: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class EntityCreate(InputModel):
    acronym: Acronym
    name: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    kind: EntityKind
    parent_id: uuid.UUID | None = Field(None, description="The office this one belongs to.")
    office_level: OfficeLevel = OfficeLevel.HEADQUARTERS
    country_code: CountryCode | None = None
    website: WebUrl | None = None
    contact_email: Email | None = None
    identifiers: list[Identifier] = Field(default_factory=list, max_length=20)


class EntityUpdate(InputModel):
    """A merge patch: fields present are set, ``null`` clears an optional field."""

    acronym: Acronym | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None
    kind: EntityKind | None = None
    parent_id: uuid.UUID | None = None
    office_level: OfficeLevel | None = None
    country_code: CountryCode | None = None
    website: WebUrl | None = None
    contact_email: Email | None = None
    identifiers: list[Identifier] | None = Field(None, max_length=20)


REQUIRED_ON_ENTITY = frozenset({"acronym", "name", "kind", "office_level", "identifiers"})


class IdentifierOut(OutputModel):
    scheme: str
    value: str


class EntityOut(OutputModel):
    id: uuid.UUID
    acronym: str
    name: str
    kind: EntityKind
    un_system: bool
    parent_id: uuid.UUID | None
    office_level: OfficeLevel
    country_code: str | None
    website: str | None
    contact_email: str | None
    identifiers: list[IdentifierOut]
    is_demo: bool
    created_at: datetime
    updated_at: datetime


class EntityRef(OutputModel):
    id: uuid.UUID
    acronym: str
    name: str
