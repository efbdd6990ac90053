"""What each importable kind of record takes from a CSV row, how it recognises a row that is
already in the registry (its natural key), and which domain service adds it.

A row already present with the same values is "unchanged"; present with other values, it is
rejected: an import adds records, it never changes one (that is what the API's PATCH and
actions are for)."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.entities.models import Entity
from services.entities.schemas import EntityCreate
from services.entities.service import create_entity
from services.memberships.models import Membership
from services.memberships.schemas import MembershipCreate
from services.memberships.service import create_membership
from services.principals import Principal
from services.working_groups.models import PostKind, WorkingGroupPost
from services.working_groups.schemas import PostCreate
from services.working_groups.service import add_post


class RowRejected(Exception):
    """This row cannot be imported; the message says why, for a person."""


@dataclass(frozen=True)
class Prepared:
    """A row read and resolved: its natural key, the service's input, and a label for the report."""

    key: tuple[Any, ...]
    data: BaseModel
    label: str
    target: uuid.UUID | None = None  # the network or working group the row adds to


@dataclass(frozen=True)
class Applied:
    status: str  # "created" or "unchanged"
    label: str


@dataclass(frozen=True)
class ImportKind:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    prepare: Callable[[AsyncSession, dict[str, str]], Awaitable[Prepared]]
    apply: Callable[[AsyncSession, Prepared, Principal], Awaitable[Applied]]
    # Columns the kind's export carries that the registry sets itself: read, and left aside.
    ignored: tuple[str, ...] = ()


async def _entity_id(session: AsyncSession, acronym: str, column: str) -> uuid.UUID:
    found = await session.scalar(select(Entity.id).where(func.lower(Entity.acronym) == acronym.lower()))
    if found is None:
        raise RowRejected(f"{column}: no entity has the acronym {acronym!r}")
    return found


def _uuid(value: str, column: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise RowRejected(f"{column}: {value!r} is not an id (a UUID)") from None


def _differences(existing: object, wanted: dict[str, Any]) -> list[str]:
    return [name for name, value in wanted.items() if getattr(existing, name) != value]


def _exists_otherwise(what: str, differing: list[str], how: str) -> RowRejected:
    return RowRejected(
        f"{what} is already in the registry with another {', '.join(differing)}; "
        f"an import adds records and changes none: {how}"
    )


# Entities: natural key the acronym (case-insensitive, as the registry's rule).

ENTITY_COLUMNS = (
    "office_level",
    "country_code",
    "website",
    "contact_email",
    "parent_acronym",
    "parent_id",
    "identifiers",
)
# The registry's own: an imported entity gets its id, timestamps and UN-system flag here.
SET_BY_THE_REGISTRY = ("id", "is_demo", "created_at", "updated_at")


def _identifiers(text: str) -> list[Any]:
    """An entity's identifiers in a cell: the JSON list an export writes
    (``[{"scheme": "iati", "value": "XM-DAC-41121"}]``), or ``scheme:value`` pairs split by ``;``."""
    if text.lstrip().startswith("["):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise RowRejected("identifiers: not a JSON list of {scheme, value} objects") from None
        return list(parsed) if isinstance(parsed, list) else [parsed]
    pairs = [pair.strip() for pair in text.split(";") if pair.strip()]
    if any(":" not in pair for pair in pairs):
        raise RowRejected("identifiers: write each as scheme:value, separated by ';' (e.g. iati:XM-DAC-41121)")
    return [dict(zip(("scheme", "value"), (p.strip() for p in pair.split(":", 1)), strict=True)) for pair in pairs]


async def _prepare_entity(session: AsyncSession, values: dict[str, str]) -> Prepared:
    fields: dict[str, Any] = {k: v for k, v in values.items() if k not in ("parent_acronym", "identifiers")}
    if "parent_acronym" in values:
        fields["parent_id"] = await _entity_id(session, values["parent_acronym"], "parent_acronym")
    if "identifiers" in values:
        fields["identifiers"] = _identifiers(values["identifiers"])
    data = EntityCreate.model_validate(fields)
    return Prepared(("entity", data.acronym.lower()), data, f"entity {data.acronym}")


async def _apply_entity(session: AsyncSession, prepared: Prepared, actor: Principal) -> Applied:
    data = prepared.data
    assert isinstance(data, EntityCreate)
    existing = await session.scalar(select(Entity).where(func.lower(Entity.acronym) == data.acronym.lower()))
    if existing is not None:
        differing = _differences(existing, data.model_dump(exclude={"acronym", "identifiers"}))
        if differing:
            raise _exists_otherwise(prepared.label, differing, f"change it with PATCH /v1/entities/{existing.id}")
        return Applied("unchanged", prepared.label)
    await create_entity(session, data=data, actor=actor)
    return Applied("created", prepared.label)


ENTITIES = ImportKind(
    "entities",
    ("acronym", "name", "kind"),
    ENTITY_COLUMNS,
    _prepare_entity,
    _apply_entity,
    ignored=(*SET_BY_THE_REGISTRY, "un_system"),
)


# Memberships: natural key (network, entity, start date).


def _entity_acronym(text: str) -> str:
    """A membership's entity in a cell: its acronym, or the object an export writes
    (``{"id": ..., "acronym": "IOM", "name": ...}``), whose acronym is taken."""
    if not text.startswith("{"):
        return text
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise RowRejected("entity: write the entity's acronym (or the object an export writes)") from None
    acronym = parsed.get("acronym") if isinstance(parsed, dict) else None
    if not isinstance(acronym, str):
        raise RowRejected("entity: the object names no acronym; write the entity's acronym")
    return acronym


async def _prepare_membership(session: AsyncSession, values: dict[str, str]) -> Prepared:
    fields: dict[str, Any] = {k: v for k, v in values.items() if k != "entity"}
    acronym = _entity_acronym(values["entity"])
    fields["entity_id"] = await _entity_id(session, acronym, "entity")
    data = MembershipCreate.model_validate(fields)
    assert data.network_id is not None  # a required column
    key = ("membership", data.network_id, data.entity_id, data.start_date)
    label = f"membership of {acronym} from {data.start_date.isoformat()}"
    return Prepared(key, data, label, data.network_id)


async def _apply_membership(session: AsyncSession, prepared: Prepared, actor: Principal) -> Applied:
    data = prepared.data
    assert isinstance(data, MembershipCreate) and prepared.target is not None
    existing = await session.scalar(
        select(Membership).where(
            Membership.network_id == prepared.target,
            Membership.entity_id == data.entity_id,
            Membership.start_date == data.start_date,
        )
    )
    if existing is not None:
        differing = _differences(existing, {"tier": data.tier, "end_date": data.end_date})
        if differing:
            raise _exists_otherwise(prepared.label, differing, f"see /v1/memberships/{existing.id}")
        return Applied("unchanged", prepared.label)
    await create_membership(session, network_id=prepared.target, data=data, actor=actor)
    return Applied("created", prepared.label)


MEMBERSHIPS = ImportKind(
    "memberships",
    ("network_id", "entity", "tier", "start_date"),
    ("end_date", "mandate_relevance", "capacity", "notes"),
    _prepare_membership,
    _apply_membership,
    ignored=(*SET_BY_THE_REGISTRY, "end_reason", "previous_membership_id"),
)


# Working-group seats: natural key (working group, entity, start date).


async def _prepare_seat(session: AsyncSession, values: dict[str, str]) -> Prepared:
    group_id = _uuid(values["working_group_id"], "working_group_id")
    entity_id = await _entity_id(session, values["entity"], "entity")
    data = PostCreate.model_validate({"entity_id": entity_id, "start_date": values["start_date"]})
    label = f"seat of {values['entity']} from {data.start_date.isoformat()}"
    return Prepared(("seat", group_id, entity_id, data.start_date), data, label, group_id)


async def _apply_seat(session: AsyncSession, prepared: Prepared, actor: Principal) -> Applied:
    data = prepared.data
    assert isinstance(data, PostCreate) and prepared.target is not None
    start: date = data.start_date
    existing = await session.scalar(
        select(WorkingGroupPost.id).where(
            WorkingGroupPost.working_group_id == prepared.target,
            WorkingGroupPost.kind == PostKind.MEMBER,
            WorkingGroupPost.entity_id == data.entity_id,
            WorkingGroupPost.start_date == start,
        )
    )
    if existing is not None:
        return Applied("unchanged", prepared.label)
    await add_post(session, group_id=prepared.target, kind=PostKind.MEMBER, data=data, actor=actor)
    return Applied("created", prepared.label)


SEATS = ImportKind("working-group-seats", ("working_group_id", "entity", "start_date"), (), _prepare_seat, _apply_seat)

KINDS = {kind.name: kind for kind in (ENTITIES, MEMBERSHIPS, SEATS)}
