"""Rules for API keys."""

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.api_keys import repository
from services.api_keys.models import ApiKey
from services.api_keys.schemas import ApiKeyCreate
from services.api_keys.secrets import hash_key, new_key
from services.auth.policy import require_admin
from services.clock import clock
from services.entities.models import Entity
from services.errors import Conflict, InvalidInput, NotFound
from services.people.models import Person
from services.principals import SYSTEM, Principal, Role
from services.records import record_change

DEFAULT_LIFETIME = timedelta(days=365)
MAX_LIFETIME = timedelta(days=730)


async def _record(session: AsyncSession, event: str, key: ApiKey, actor: Principal, **details: Any) -> dict[str, Any]:
    return await record_change(
        session,
        event=event,
        subject_type="api_key",
        subject_id=key.id,
        owner_entity_id=key.entity_id,
        load_row=repository.get_key_row,
        actor=actor,
        **details,
    )


async def _check_person(session: AsyncSession, data: ApiKeyCreate) -> None:
    """A key's person is a person of its entity, not erased."""
    if data.person_id is None:
        return
    person = await session.get(Person, data.person_id)
    if person is None or data.entity_id is None or person.entity_id != data.entity_id:
        raise InvalidInput(
            "person-not-of-entity",
            f"person_id {data.person_id} is not a person of the key's entity: a focal point's key is issued to a "
            "person of the entity it acts for (GET /v1/people?entity_id=...).",
            fields=["person_id"],
        )
    if person.erased_at is not None:
        raise InvalidInput("person-erased", f"Person {person.id} was erased; issue the key to someone else.")


async def create_api_key(session: AsyncSession, *, data: ApiKeyCreate, actor: Principal) -> tuple[dict[str, Any], str]:
    """Create a key; returns its metadata and the key itself, which is never stored."""
    require_admin(actor, "create API keys")
    role = Role(data.role)
    if role == Role.FOCAL_POINT and data.entity_id is None:
        raise InvalidInput("focal-point-needs-entity", "A focal point's key acts for one entity: give entity_id.")
    if role != Role.FOCAL_POINT and data.entity_id is not None:
        raise InvalidInput(
            "entity-not-allowed",
            f"Only a focal point's key acts for an entity; leave entity_id out of a {role.value} key.",
            fields=["entity_id"],
        )
    if data.entity_id is not None:
        entity = await session.get(Entity, data.entity_id)
        if entity is None:
            raise InvalidInput("reference-not-found", f"entity_id {data.entity_id} is not an entity of the registry.")
        if not entity.un_system:
            raise InvalidInput(
                "focal-point-not-un-system",
                f"{entity.acronym} is not a UN-system entity; focal points act for the Network's UN-system members.",
                fields=["entity_id"],
            )
    await _check_person(session, data)
    now = clock.now()
    expires_at = data.expires_at or now + DEFAULT_LIFETIME
    if expires_at <= now:
        raise InvalidInput("expiry-in-the-past", "expires_at must be in the future.")
    if expires_at > now + MAX_LIFETIME:
        raise InvalidInput("expiry-too-far", "A key lives at most two years; choose an earlier expires_at.")
    key, prefix = new_key()
    api_key = ApiKey(
        name=data.name,
        prefix=prefix,
        key_hash=hash_key(key),
        role=role,
        entity_id=data.entity_id,
        person_id=data.person_id,
        created_by=actor.id,
        expires_at=expires_at,
    )
    session.add(api_key)
    await session.flush()
    return await _record(session, "created", api_key, actor), key


async def revoke_api_key(session: AsyncSession, *, key_id: uuid.UUID, actor: Principal) -> dict[str, Any]:
    """Revoke a key. Admins revoke any; others only the keys they can see (their own, their
    entity's). The last active admin key stays: nobody may lock the secretariat out."""
    active_admin_keys = await _active_admin_keys(session)  # locked first, in one order: no deadlock
    api_key = await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, repository.visible_to(actor)).with_for_update()
    )
    if api_key is None:
        raise NotFound("api-key-not-found", f"No API key has id {key_id}.")
    if api_key.revoked_at is not None:
        raise Conflict("api-key-revoked", f"This key was already revoked at {api_key.revoked_at.isoformat()}.")
    if active_admin_keys == [api_key.id]:
        raise Conflict(
            "last-admin-key",
            "This is the last active admin key: revoking it would lock the secretariat out. "
            "Create another admin key first.",
        )
    api_key.revoked_at = clock.now()
    api_key.revoked_by = actor.id
    return await _record(
        session,
        "revoked",
        api_key,
        actor,
        changes={"revoked_at": (None, api_key.revoked_at), "revoked_by": (None, actor.id)},
    )


async def _active_admin_keys(session: AsyncSession) -> list[uuid.UUID]:
    """The active admin keys, locked, so that two admins revoking each other's keys at once
    cannot both succeed."""
    query = (
        select(ApiKey.id)
        .where(ApiKey.role == Role.ADMIN, ApiKey.revoked_at.is_(None), ApiKey.expires_at > clock.now())
        .order_by(ApiKey.id)
        .with_for_update()
    )
    return list((await session.scalars(query)).all())


async def create_bootstrap_admin_key(session: AsyncSession, *, name: str, only_if_none: bool) -> str | None:
    """The first admin key (CLI and first `make run`). With ``only_if_none``, nothing is
    created while an active admin key exists."""
    if only_if_none:
        active = exists().where(ApiKey.role == Role.ADMIN, ApiKey.revoked_at.is_(None), ApiKey.expires_at > clock.now())
        if await session.scalar(select(active)):
            return None
    _, key = await create_api_key(session, data=ApiKeyCreate(name=name, role="admin"), actor=SYSTEM)
    return key
