"""Who may do what. Services call these before they read a record's version, so that a
caller who may not write never learns more than a 403 (or a 404 for what it may not see)."""

import uuid
from collections.abc import Set
from typing import Any

from sqlalchemy import bindparam, or_, true

from services.errors import Forbidden, InvalidInput
from services.principals import Principal, Role


def require_admin(actor: Principal, action: str) -> None:
    """Only the secretariat (admin) may ``action``."""
    if not actor.is_admin:
        raise Forbidden("admin-only", f"Only the secretariat (admin role) may {action}.")


def owned_by(actor: Principal, owner_principal: Any, owner_entity: Any) -> Any:
    """The records ``actor`` may see of a kind its callers own (webhook endpoints, calendar
    subscriptions): all for an admin; otherwise its own, and its entity's."""
    if actor.is_admin:
        return true()
    mine = owner_principal == actor.id
    if actor.entity_id is not None:
        return or_(mine, owner_entity == actor.entity_id)
    return mine


def owned_by_bound(admin: bool, own_entity: bool, owner_principal: Any, owner_entity: Any) -> Any:
    """``owned_by`` for a statement built once: the caller's id and entity bound as
    ``actor_id`` and ``actor_entity_id`` (``own_entity``: whether it has one)."""
    if admin:
        return true()
    mine = owner_principal == bindparam("actor_id")
    if own_entity:
        return or_(mine, owner_entity == bindparam("actor_entity_id"))
    return mine


def may_act_for_entity(actor: Principal, entity_id: uuid.UUID | None) -> bool:
    """Admins act for every entity; a focal point for its own."""
    if actor.is_admin:
        return True
    return actor.role == Role.FOCAL_POINT and entity_id is not None and actor.entity_id == entity_id


def require_entity_editor(actor: Principal, entity_id: uuid.UUID, action: str) -> None:
    if not may_act_for_entity(actor, entity_id):
        raise Forbidden(
            "not-your-entity",
            f"You may not {action}: only the secretariat or the entity's own focal point may.",
        )


def restrict_fields(actor: Principal, fields: Set[str], *, focal_point_may_set: frozenset[str], record: str) -> None:
    """Property-level rule: a non-admin sending a field it may not set gets a 422 naming it."""
    if actor.is_admin:
        return
    refused = sorted(set(fields) - focal_point_may_set)
    if refused:
        raise InvalidInput(
            "field-not-allowed",
            f"Your role may not set {', '.join(refused)} on {record}; "
            f"you may set {', '.join(sorted(focal_point_may_set))}. Ask the secretariat for other changes.",
            fields=refused,
        )
