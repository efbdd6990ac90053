import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints, WithJsonSchema, model_validator
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import select

from services.entities.models import Entity, EntityIdentifier, EntityKind, OfficeLevel
from services.reference.identifiers import SCHEMES, identifier_problem
from services.reference.types import CountryCode
from services.schemas import SINGLE_LINE, WEB_ADDRESS, Form, InputModel, OutputModel
from services.shapes import From, json_array, json_object

ACRONYM = Form(
    r"^[A-Za-z0-9][A-Za-z0-9&.\-/ ]*$",
    "an acronym: a letter or digit, then letters, digits, spaces or & . - /, such as IOM or UN-Habitat",
)
Acronym = Annotated[str, StringConstraints(min_length=1, max_length=32), ACRONYM, SINGLE_LINE]
EMAIL_PART = r"[^@\s\u0000-\u001f\u007f-\u009f]+"
EMAIL_ADDRESS = Form(rf"^{EMAIL_PART}@{EMAIL_PART}\.{EMAIL_PART}$", "an e-mail address such as name@un.org")
Email = Annotated[str, StringConstraints(max_length=320), EMAIL_ADDRESS, SINGLE_LINE]
WebUrl = Annotated[str, StringConstraints(max_length=500), WEB_ADDRESS, SINGLE_LINE]


class Identifier(InputModel):
    """An identifier in one of the registry's schemes, checked by that scheme's format."""

    scheme: Annotated[str, WithJsonSchema({"type": "string", "enum": sorted(SCHEMES)}), SINGLE_LINE] = Field(
        description="`iati` (an IATI organisation identifier, e.g. XM-DAC-41121), `ror` or `wikidata`."
    )
    value: Annotated[str, StringConstraints(min_length=1, max_length=200), SINGLE_LINE]

    @model_validator(mode="after")
    def _value_fits_scheme(self) -> "Identifier":
        problem = identifier_problem(self.scheme, self.value)
        if problem is not None:
            raise ValueError(problem)
        return self


class EntityCreate(InputModel):
    acronym: Acronym
    name: Annotated[str, StringConstraints(min_length=1, max_length=300), SINGLE_LINE]
    kind: EntityKind
    parent_id: uuid.UUID | None = Field(None, description="The office this one belongs to.")
    office_level: OfficeLevel = OfficeLevel.HEADQUARTERS
    country_code: CountryCode | None = None
    website: WebUrl | None = None
    contact_email: Email | None = None
    identifiers: list[Identifier] = Field(default_factory=list, max_length=20)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def leave_out() -> Any:
    """The default of a field a patch may leave out but not clear (no ``default`` in the document)."""
    return Field(None, json_schema_extra=_no_default)


class EntityUpdate(InputModel):
    """A merge patch: fields present are set, ``null`` clears an optional field. The fields
    every entity has (``REQUIRED_ON_ENTITY``) may be left out but not cleared: the document
    declares them non-nullable, and a ``null`` is refused naming the field."""

    acronym: Acronym | SkipJsonSchema[None] = leave_out()
    name: Annotated[str, StringConstraints(min_length=1, max_length=300), SINGLE_LINE] | SkipJsonSchema[None] = (
        leave_out()
    )
    kind: EntityKind | SkipJsonSchema[None] = leave_out()
    parent_id: uuid.UUID | None = None
    office_level: OfficeLevel | SkipJsonSchema[None] = leave_out()
    country_code: CountryCode | None = None
    website: WebUrl | None = None
    contact_email: Email | None = None
    identifiers: Annotated[list[Identifier], Field(max_length=20)] | SkipJsonSchema[None] = leave_out()


REQUIRED_ON_ENTITY = frozenset({"acronym", "name", "kind", "office_level", "identifiers"})


class IdentifierOut(OutputModel):
    scheme: Annotated[str, From(EntityIdentifier.scheme)]
    value: Annotated[str, From(EntityIdentifier.value)]


# An entity named inside another record: json_object(EntityRef, <Entity or an alias>).
class EntityRef(OutputModel):
    id: Annotated[uuid.UUID, From(Entity.id)]
    acronym: Annotated[str, From(Entity.acronym)]
    name: Annotated[str, From(Entity.name)]


# In scheme, then value order.
_IDENTIFIERS = (
    select(json_array(json_object(IdentifierOut), EntityIdentifier.scheme, EntityIdentifier.value))
    .where(EntityIdentifier.entity_id == Entity.id)
    .scalar_subquery()
)


class EntityOut(OutputModel):
    id: Annotated[uuid.UUID, From(Entity.id)]
    acronym: Annotated[str, From(Entity.acronym)]
    name: Annotated[str, From(Entity.name)]
    kind: Annotated[EntityKind, From(Entity.kind)]
    un_system: Annotated[bool, From(Entity.un_system)]
    parent_id: Annotated[uuid.UUID | None, From(Entity.parent_id)]
    office_level: Annotated[OfficeLevel, From(Entity.office_level)]
    country_code: Annotated[str | None, From(Entity.country_code)]
    website: Annotated[str | None, From(Entity.website)]
    contact_email: Annotated[str | None, From(Entity.contact_email)]
    identifiers: Annotated[list[IdentifierOut], From(_IDENTIFIERS)]
    is_demo: Annotated[bool, From(Entity.is_demo)]
    created_at: Annotated[datetime, From(Entity.created_at)]
    updated_at: Annotated[datetime, From(Entity.updated_at)]
