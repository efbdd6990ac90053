"""Reading the audit trail."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.audit.models import AuditEntry
from services.auth.policy import require_admin
from services.errors import Forbidden
from services.pagination import Page, PageRequest, page_from_rows
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
    if actor.role == Role.FOCAL_POINT:
        query = query.where(AuditEntry.owner_entity_id == actor.entity_id)
    elif not actor.is_admin:
        raise Forbidden("audit-log-restricted", "The audit trail is readable by the secretariat and by focal points.")
    else:
        require_admin(actor, "read the whole audit trail")
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
    query = audit_query(
        actor, resource_type=resource_type, resource_id=resource_id, principal_id=principal_id, since=since, until=until
    )
    if page.after is not None:
        query = query.where(AuditEntry.id > page.after)
    result = await conn.execute(query.limit(page.limit + 1))
    return page_from_rows([dict(r) for r in result.mappings()], page.limit)
