"""Rules for entities."""

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.policy import require_admin, require_entity_editor, restrict_fields
from services.clock import clock
from services.entities import repository
from services.entities.models import Entity, EntityIdentifier, EntityKind
from services.entities.schemas import REQUIRED_ON_ENTITY, EntityCreate, EntityUpdate, Identifier
from services.errors import Conflict, InvalidInput, NotFound
from services.events.service import append_event, insert_recording_event, run_insert_recording_event
from services.ids import uuid7
from services.principals import Principal
from services.records import apply_patch, check_version, flush_pending, record_change

# What an entity's own focal point may change: its profile and contacts.
FOCAL_POINT_ENTITY_FIELDS = frozenset({"name", "website", "contact_email", "identifiers", "country_code"})


async def load_entity_for_update(session: AsyncSession, entity_id: uuid.UUID) -> Entity:
    entity = await session.scalar(select(Entity).where(Entity.id == entity_id).with_for_update())
    if entity is None:
        raise NotFound("entity-not-found", f"No entity has id {entity_id}.")
    return entity


def _acronym_taken(acronym: str) -> Conflict:
    return Conflict("acronym-taken", f"Another entity already uses the acronym {acronym!r}; acronyms are unique.")


async def _check_acronym_free(session: AsyncSession, acronym: str, other_than: uuid.UUID | None = None) -> None:
    if await repository.acronym_taken(session, acronym, other_than=other_than):
        raise _acronym_taken(acronym)


async def _check_identifiers(
    session: AsyncSession, identifiers: list[Identifier], owner: uuid.UUID | None
) -> list[tuple[str, str]]:
    pairs = [(i.scheme, i.value) for i in identifiers]
    if len(set(pairs)) != len(pairs):
        raise InvalidInput("duplicate-identifier", "The same identifier is listed twice.")
    for (scheme, value), holder in (await repository.identifier_owners(session, pairs)).items():
        if holder != owner:
            raise Conflict(
                "identifier-taken",
                f"The identifier {scheme}:{value} already belongs to entity {holder}.",
            )
    return pairs


async def _check_parent(
    session: AsyncSession, entity_id: uuid.UUID | None, parent_id: uuid.UUID, kind: EntityKind
) -> None:
    parent = await session.get(Entity, parent_id)
    if parent is None:
        raise InvalidInput("reference-not-found", f"parent_id {parent_id} is not an entity of the registry.")
    if entity_id is not None and (
        parent_id == entity_id or entity_id in await repository.ancestor_ids(session, parent_id)
    ):
        raise Conflict("parent-cycle", "An entity cannot be its own parent, directly or through its offices.")
    if (parent.kind == EntityKind.UN_SYSTEM) != (kind == EntityKind.UN_SYSTEM):
        raise Conflict(
            "parent-kind-mismatch",
            f"An office of {parent.acronym} must have the same UN-system status as its parent.",
        )


async def _record(
    session: AsyncSession, event: str, entity_id: uuid.UUID, actor: Principal, **details: Any
) -> dict[str, Any]:
    return await record_change(
        session,
        event=event,
        subject_type="entity",
        subject_id=entity_id,
        owner_entity_id=entity_id,
        load_row=repository.get_entity_row,
        actor=actor,
        **details,
    )


# A new entity with its event and audit entry: one statement (the database sets the rest).
_INSERT_ENTITY_RECORDED = insert_recording_event(
    select(*repository.INSERT_ENTITY.cte("new_entity").c),
    record_key="entity",
    set_by_database=("un_system", "created_at", "updated_at", "version"),
)


async def create_entity(
    session: AsyncSession, *, data: EntityCreate, actor: Principal, is_demo: bool = False
) -> dict[str, Any]:
    """Create an entity with its identifiers; returns its representation.

    Without a parent or identifiers (most creations) this is one statement: the insert,
    which also finds a taken acronym, with the event and its audit entry."""
    require_admin(actor, "add entities to the registry")
    await flush_pending(session)
    values = {**data.model_dump(exclude={"identifiers"}), "id": uuid7(), "is_demo": is_demo}
    if data.parent_id is None and not data.identifiers:
        row = await run_insert_recording_event(
            session,
            _INSERT_ENTITY_RECORDED,
            values,
            known={**values, "identifiers": []},
            type="entity.created",
            subject_type="entity",
            subject_id=values["id"],
            owner_entity_id=values["id"],
            actor=actor,
        )
        if row is None:
            raise _acronym_taken(data.acronym)
        return row
    # Checks that read the database; the acronym first, as the order of errors has it.
    await _check_acronym_free(session, data.acronym)
    if data.parent_id is not None:
        await _check_parent(session, None, data.parent_id, data.kind)
    pairs = await _check_identifiers(session, data.identifiers, None)
    row = await repository.insert_entity(session, values)
    if row is None:
        raise _acronym_taken(data.acronym)
    entity_id: uuid.UUID = row["id"]
    if pairs:
        await repository.insert_identifiers(session, entity_id, pairs)
        row = await repository.get_entity_row(session, entity_id)
        assert row is not None
    await append_event(
        session,
        type="entity.created",
        subject_type="entity",
        subject_id=entity_id,
        owner_entity_id=entity_id,
        actor=actor,
        payload={"entity": row},
        after={k: v for k, v in row.items() if k != "version"},
    )
    return row


async def update_entity(
    session: AsyncSession, *, entity_id: uuid.UUID, data: EntityUpdate, expected_version: int | None, actor: Principal
) -> dict[str, Any]:
    """Apply a merge patch to an entity. A focal point may edit its own entity's profile."""
    entity = await load_entity_for_update(session, entity_id)
    require_entity_editor(actor, entity_id, f"change {entity.acronym}")
    fields = data.model_fields_set
    restrict_fields(actor, fields, focal_point_may_set=FOCAL_POINT_ENTITY_FIELDS, record="an entity")
    check_version("entity", entity.version, expected_version)
    if "acronym" in fields and data.acronym is not None:
        await _check_acronym_free(session, data.acronym, other_than=entity_id)
    new_kind = data.kind if "kind" in fields and data.kind is not None else entity.kind
    leaves_un_system = new_kind != EntityKind.UN_SYSTEM and entity.kind == EntityKind.UN_SYSTEM
    if leaves_un_system and await repository.has_current_memberships(session, entity_id, today=clock.today()):
        raise Conflict(
            "entity-has-current-memberships",
            f"{entity.acronym} is a current member of a network, and only UN-system entities are members; end its memberships first.",
        )
    new_parent = data.parent_id if "parent_id" in fields else entity.parent_id
    if new_parent is not None and ("parent_id" in fields or "kind" in fields):
        await _check_parent(session, entity_id, new_parent, new_kind)
    changes = apply_patch(entity, data, required=REQUIRED_ON_ENTITY, skip=frozenset({"identifiers"}))
    if "identifiers" in fields and data.identifiers is not None:
        pairs = await _check_identifiers(session, data.identifiers, entity_id)
        before_rows = await session.execute(
            select(EntityIdentifier.scheme, EntityIdentifier.value).where(EntityIdentifier.entity_id == entity_id)
        )
        before = sorted((r.scheme, r.value) for r in before_rows)
        if before != sorted(pairs):
            await session.execute(delete(EntityIdentifier).where(EntityIdentifier.entity_id == entity_id))
            session.add_all(EntityIdentifier(entity_id=entity_id, scheme=s, value=v) for s, v in pairs)
            changes["identifiers"] = (
                [{"scheme": s, "value": v} for s, v in before],
                [{"scheme": s, "value": v} for s, v in sorted(pairs)],
            )
            entity.updated_at = clock.now()  # a change of identifiers is a change of the entity
    return await _record(session, "updated", entity_id, actor, changes=changes)


async def delete_entity(
    session: AsyncSession, *, entity_id: uuid.UUID, expected_version: int | None, actor: Principal
) -> None:
    """Delete an entity that nothing refers to. History is never deleted with it."""
    require_admin(actor, "delete entities")
    entity = await load_entity_for_update(session, entity_id)
    check_version("entity", entity.version, expected_version)
    if await repository.has_current_memberships(session, entity_id, today=clock.today()):
        raise Conflict(
            "entity-has-current-memberships",
            f"{entity.acronym} is a current member of a network; end its memberships before deleting it.",
        )
    if await repository.holds_network_posts(session, entity_id):
        raise Conflict(
            "entity-in-use",
            f"{entity.acronym} holds or held a network's coordinator or secretariat post, "
            "which is part of the record; it cannot be deleted.",
        )
    if await repository.has_children(session, entity_id):
        raise Conflict("entity-in-use", f"{entity.acronym} has offices recorded under it; delete or move them first.")
    if await repository.has_memberships(session, entity_id):
        raise Conflict(
            "entity-in-use",
            f"{entity.acronym} has past memberships, which are part of the record; it cannot be deleted.",
        )
    row = await repository.get_entity_row(session, entity_id)
    await session.delete(entity)
    await session.flush()
    assert row is not None
    await append_event(
        session,
        type="entity.deleted",
        subject_type="entity",
        subject_id=entity_id,
        owner_entity_id=entity_id,
        actor=actor,
        payload={"entity": row},
        before={k: v for k, v in row.items() if k != "version"},
    )
