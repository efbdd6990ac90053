import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from services.dates import RegistryDate
from services.entities.models import Entity
from services.entities.schemas import CountryCode, EntityRef
from services.networks.models import Network, NetworkScope
from services.schemas import MULTI_LINE, SINGLE_LINE, InputModel, OutputModel
from services.shapes import From, json_object

Name = Annotated[str, StringConstraints(min_length=1, max_length=300), SINGLE_LINE]
ShortName = Annotated[str, StringConstraints(min_length=1, max_length=50), SINGLE_LINE]
Region = Annotated[str, StringConstraints(min_length=1, max_length=200), SINGLE_LINE]
Statement = Annotated[str, StringConstraints(min_length=1, max_length=4000), MULTI_LINE]


class CoordinatorIn(InputModel):
    """The coordinating entity, which becomes the network's first core member."""

    entity_id: uuid.UUID
    mandate_relevance: Statement = Field(description="Why the entity's mandate makes it core.")
    capacity: Statement = Field(description="The capacity it brings to the network.")


class NetworkCreate(InputModel):
    read_only = frozenset({"secretariat_entity_id", "coordinator_entity_id"})

    name: Name
    short_name: ShortName | None = None
    scope: NetworkScope
    parent_network_id: uuid.UUID | None = None
    region: Region | None = None
    country_code: CountryCode | None = None
    established_on: RegistryDate
    description: Annotated[str, StringConstraints(max_length=10000), MULTI_LINE] | None = None
    coordinator: CoordinatorIn

    @model_validator(mode="after")
    def _scope_fields(self) -> "NetworkCreate":
        if self.scope == NetworkScope.GLOBAL and self.parent_network_id is not None:
            raise ValueError("a global network has no parent_network_id")
        if self.scope != NetworkScope.GLOBAL and self.parent_network_id is None:
            raise ValueError(f"a {self.scope.value} network needs parent_network_id")
        if self.scope == NetworkScope.REGIONAL and not self.region:
            raise ValueError("a regional network needs region")
        if self.scope == NetworkScope.COUNTRY and not self.country_code:
            raise ValueError("a country network needs country_code")
        return self


class NetworkUpdate(InputModel):
    read_only = frozenset({"secretariat_entity_id", "scope", "parent_network_id"})

    name: Name | None = None
    short_name: ShortName | None = None
    region: Region | None = None
    country_code: CountryCode | None = None
    description: Annotated[str, StringConstraints(max_length=10000), MULTI_LINE] | None = None
    coordinator_entity_id: uuid.UUID | None = Field(
        None, description="Appoint a new coordinator: it must be a current, open-ended core member."
    )


REQUIRED_ON_NETWORK = frozenset({"name", "coordinator_entity_id"})


# The network joined with its coordinating entity; the coordinator serves as the secretariat.
_COORDINATOR = json_object(EntityRef, Entity)


class NetworkOut(OutputModel):
    id: Annotated[uuid.UUID, From(Network.id)]
    name: Annotated[str, From(Network.name)]
    short_name: Annotated[str | None, From(Network.short_name)]
    scope: Annotated[NetworkScope, From(Network.scope)]
    parent_network_id: Annotated[uuid.UUID | None, From(Network.parent_network_id)]
    region: Annotated[str | None, From(Network.region)]
    country_code: Annotated[str | None, From(Network.country_code)]
    established_on: Annotated[date, From(Network.established_on)]
    description: Annotated[str | None, From(Network.description)]
    coordinator: Annotated[EntityRef, From(_COORDINATOR)]
    secretariat: Annotated[EntityRef, From(_COORDINATOR)] = Field(
        description="The coordinator serves as the secretariat."
    )
    is_demo: Annotated[bool, From(Network.is_demo)]
    created_at: Annotated[datetime, From(Network.created_at)]
    updated_at: Annotated[datetime, From(Network.updated_at)]
