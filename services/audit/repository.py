"""Reading the audit trail."""

import functools
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.audit.models import AuditEntry
from services.auth.policy import require_admin
from services.errors import Forbidden
from services.pagination import Page, PageRequest, fetch_page, keyset_page
from services.principals import Principal, Role


def audit_query(
    actor: Principal,
    *,
    resource_type: str | None = None,
    resource_id: uuid.UUID | None = None,
    principal_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[Any]:
    """Admins read the whole trail; a focal point reads the entries about its own entity's records."""
    query = select(AuditEntry.__table__)
    if _audit_reader(actor):
        query = query.where(AuditEntry.owner_entity_id == actor.entity_id)
    if resource_type is not None:
        query = query.where(AuditEntry.resource_type == resource_type)
    if resource_id is not None:
        query = query.where(AuditEntry.resource_id == resource_id)
    if principal_id is not None:
        query = query.where(AuditEntry.principal_id == principal_id)
    if since is not None:
        query = query.where(AuditEntry.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEntry.occurred_at < until)
    return query.order_by(AuditEntry.id)


async def list_audit_rows(
    conn: AsyncConnection,
    page: PageRequest,
    actor: Principal,
    *,
    resource_type: str | None = None,
    resource_id: uuid.UUID | None = None,
    principal_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page:
    """Admins read the whole trail; a focal point reads the entries about its own entity's records."""
    focal_point = _audit_reader(actor)
    filters = {
        "resource_type": resource_type,
        "resource_id": resource_id,
        "principal_id": principal_id,
        "since": since,
        "until": until,
    }
    # A focal point's entries are its entity's (none, for a focal point without one).
    owner = (actor.entity_id is not None) if focal_point else None
    statement = _audit_page(owner, frozenset(k for k, v in filters.items() if v is not None), page.after is not None)
    return await fetch_page(conn, statement, page, owner_entity_id=actor.entity_id if owner else None, **filters)


def _audit_reader(actor: Principal) -> bool:
    """Whether ``actor`` reads as a focal point (its entity's entries) rather than as an admin
    (the whole trail); anyone else is refused, as ``audit_query`` refuses them."""
    if actor.role == Role.FOCAL_POINT:
        return True
    if not actor.is_admin:
        raise Forbidden("audit-log-restricted", "The audit trail is readable by the secretariat and by focal points.")
    require_admin(actor, "read the whole audit trail")
    return False


# The list's statements are built once for each combination of filters, with bound parameters
# (as the entities' are): SQLAlchemy neither rebuilds them nor computes their cache key again.
@functools.cache
def _audit_page(owner: bool | None, given: frozenset[str], after: bool) -> Select[Any]:
    """``owner``: None for the whole trail, else whether the entries are of a bound entity's
    (``owner_entity_id``) or of none."""
    query = select(AuditEntry.__table__)
    if owner:
        query = query.where(AuditEntry.owner_entity_id == bindparam("owner_entity_id"))
    elif owner is not None:
        query = query.where(AuditEntry.owner_entity_id.is_(None))
    if "resource_type" in given:
        query = query.where(AuditEntry.resource_type == bindparam("resource_type"))
    if "resource_id" in given:
        query = query.where(AuditEntry.resource_id == bindparam("resource_id"))
    if "principal_id" in given:
        query = query.where(AuditEntry.principal_id == bindparam("principal_id"))
    if "since" in given:
        query = query.where(AuditEntry.occurred_at >= bindparam("since"))
    if "until" in given:
        query = query.where(AuditEntry.occurred_at < bindparam("until"))
    return keyset_page(query, AuditEntry.id, after=after)
