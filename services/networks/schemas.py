import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator
from sqlalchemy import Date, bindparam, or_, select
from sqlalchemy.orm import aliased

from services.clock import clock
from services.dates import RegistryDate
from services.entities.models import Entity
from services.entities.schemas import EntityRef
from services.locales import Language
from services.networks.models import Network, NetworkPost, NetworkScope, PostRole
from services.reference.types import CountryCode, Region
from services.schemas import (
    MULTI_LINE,
    SINGLE_LINE,
    TRANSLATIONS_DESCRIPTION,
    InputModel,
    OtherLanguage,
    OutputModel,
)
from services.shapes import From, json_array, json_object

Name = Annotated[str, StringConstraints(min_length=1, max_length=300), SINGLE_LINE]
ShortName = Annotated[str, StringConstraints(min_length=1, max_length=50), SINGLE_LINE]
Statement = Annotated[str, StringConstraints(min_length=1, max_length=4000), MULTI_LINE]
Description = Annotated[str, StringConstraints(max_length=10000), MULTI_LINE]

# The fields a network's translations may hold, in the order a reader meets them.
TRANSLATED_FIELDS = ("name", "short_name", "description")


class NetworkTexts(InputModel):
    """A network's name, short name and description in one language; each is optional."""

    name: Name | None = None
    short_name: ShortName | None = None
    description: Description | None = None


NetworkTranslations = Annotated[
    dict[OtherLanguage, NetworkTexts], Field(max_length=5, description=TRANSLATIONS_DESCRIPTION)
]


NetworkLanguage = Annotated[
    Language,
    Field(
        description="The official language (ISO 639-1: ar, zh, en, fr, ru or es) the registry writes the "
        "network's e-mails and calendar texts in for a recipient who has no preferred language of their own "
        "(an entity's contact address, an external stakeholder). English unless set."
    ),
]


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
    description: Description | None = None
    translations: NetworkTranslations | None = None
    language: NetworkLanguage = "en"
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
    description: Description | None = None
    translations: NetworkTranslations | None = None
    language: NetworkLanguage | None = None
    coordinator_entity_id: uuid.UUID | None = Field(
        None,
        description="Deprecated: appoint and end posts with POST /v1/networks/{network_id}/posts instead. "
        "Setting it hands the network over to this entity from today: it must be a current, open-ended "
        "core member; it takes a coordinator and a secretariat post, and every other current post ends yesterday.",
        json_schema_extra={"deprecated": True},
    )


REQUIRED_ON_NETWORK = frozenset({"name", "coordinator_entity_id", "translations", "language"})

Reason = Annotated[str, StringConstraints(min_length=1, max_length=500), MULTI_LINE]


class NetworkPostCreate(InputModel):
    """A coordinator or secretariat post for an entity, from ``start_date``."""

    entity_id: uuid.UUID = Field(description="A UN-system entity, a core member of the network with no end date.")
    role: PostRole
    start_date: RegistryDate
    replaces_post_id: uuid.UUID | None = Field(
        None,
        description="A post of the same role this one takes over: it ends the day before start_date "
        "(a handover, as the global Network's single coordinator needs).",
    )


class NetworkPostEnd(InputModel):
    end_date: RegistryDate = Field(description="The post's last day.")
    reason: Reason | None = None


# The day the network's leadership is read for: today, unless a query binds another.
LEADS_ON = bindparam("leads_on", type_=Date, callable_=clock.today)


def post_active_on(day: Any) -> Any:
    """The condition "this post runs on ``day``" (a date or a SQL expression)."""
    return (NetworkPost.start_date <= day) & or_(NetworkPost.end_date.is_(None), NetworkPost.end_date >= day)


LeadEntity = aliased(Entity, name="lead_entity")
LeadPost = aliased(NetworkPost, name="lead_post")


def lead_post(role: PostRole, shape: Any, *, network_id: Any = Network.id, day: Any = LEADS_ON) -> Any:
    """``shape`` (columns of ``LeadPost`` or ``LeadEntity``) of the network's lead post of
    ``role`` on ``day``: of the posts running that day or later, the one that started first
    (so a network established in the future shows the posts it will start with)."""
    return (
        select(shape)
        .select_from(LeadPost)
        .join(LeadEntity, LeadEntity.id == LeadPost.entity_id)
        .where(
            LeadPost.network_id == network_id,
            LeadPost.role == role,
            or_(LeadPost.end_date.is_(None), LeadPost.end_date >= day),
        )
        .order_by(LeadPost.start_date, LeadPost.id)
        .limit(1)
        .scalar_subquery()
    )


class PostRef(OutputModel):
    """A post as a network shows it."""

    id: Annotated[uuid.UUID, From(NetworkPost.id)]
    role: Annotated[PostRole, From(NetworkPost.role)]
    entity: Annotated[EntityRef, From(json_object(EntityRef, Entity))]
    start_date: Annotated[date, From(NetworkPost.start_date)]
    end_date: Annotated[date | None, From(NetworkPost.end_date)]


_LEADERSHIP = (
    select(json_array(json_object(PostRef), NetworkPost.role, NetworkPost.start_date, NetworkPost.id))
    .select_from(NetworkPost)
    .join(Entity, Entity.id == NetworkPost.entity_id)
    .where(NetworkPost.network_id == Network.id, post_active_on(LEADS_ON))
    .scalar_subquery()
)


class NetworkOut(OutputModel):
    id: Annotated[uuid.UUID, From(Network.id)]
    name: Annotated[str, From(Network.name)]
    short_name: Annotated[str | None, From(Network.short_name)]
    scope: Annotated[NetworkScope, From(Network.scope)]
    parent_network_id: Annotated[uuid.UUID | None, From(Network.parent_network_id)]
    region: Annotated[str | None, From(Network.region)] = Field(
        description="A regional network's UN regional commission: ECA, ECE, ECLAC, ESCAP or ESCWA."
    )
    country_code: Annotated[str | None, From(Network.country_code)]
    established_on: Annotated[date, From(Network.established_on)]
    description: Annotated[str | None, From(Network.description)]
    language: Annotated[Language, From(Network.language)] = Field(
        description="The language of the network's e-mails and calendar texts for a recipient with no "
        "preferred language of their own (a person's preferred_language comes first)."
    )
    translations: Annotated[dict[str, dict[str, str]], From(Network.translations)] = Field(
        description="The name, short name and description in the other official languages, as stored; "
        "name, short_name and description above are in the language of Content-Language, English where "
        "a field has no translation."
    )
    coordinator: Annotated[EntityRef, From(lead_post(PostRole.COORDINATOR, json_object(EntityRef, LeadEntity)))] = (
        Field(
            description="The lead coordinator: of the coordinator posts running today or later, the first to start. "
            "Every current post is in leadership."
        )
    )
    coordinator_entity_id: Annotated[uuid.UUID, From(lead_post(PostRole.COORDINATOR, LeadEntity.id))] = Field(
        description="Deprecated: read leadership (or coordinator) instead. The lead coordinator's entity id.",
        json_schema_extra={"deprecated": True},
    )
    secretariat: Annotated[EntityRef, From(lead_post(PostRole.SECRETARIAT, json_object(EntityRef, LeadEntity)))] = (
        Field(description="The lead secretariat: of the secretariat posts running today or later, the first to start.")
    )
    leadership: Annotated[list[PostRef], From(_LEADERSHIP)] = Field(
        description="The coordinator and secretariat posts running today (co-leads and co-secretariats), "
        "coordinators first; GET /v1/networks/{network_id}/posts has every post, past and future."
    )
    is_demo: Annotated[bool, From(Network.is_demo)]
    created_at: Annotated[datetime, From(Network.created_at)]
    updated_at: Annotated[datetime, From(Network.updated_at)]


class NetworkPostOut(OutputModel):
    id: Annotated[uuid.UUID, From(NetworkPost.id)]
    network_id: Annotated[uuid.UUID, From(NetworkPost.network_id)]
    role: Annotated[PostRole, From(NetworkPost.role)]
    entity: Annotated[EntityRef, From(json_object(EntityRef, Entity))]  # joined on entity_id
    start_date: Annotated[date, From(NetworkPost.start_date)]
    end_date: Annotated[date | None, From(NetworkPost.end_date)]
    end_reason: Annotated[str | None, From(NetworkPost.end_reason)]
    is_demo: Annotated[bool, From(NetworkPost.is_demo)]
    created_at: Annotated[datetime, From(NetworkPost.created_at)]
    updated_at: Annotated[datetime, From(NetworkPost.updated_at)]
