import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base
from services.ids import uuid7


class AuditEntry(Base):
    """One write. The migration installs triggers that refuse UPDATE, DELETE and TRUNCATE."""

    __tablename__ = "audit_log"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    occurred_at: Mapped[datetime] = mapped_column(server_default=func.now())
    principal_id: Mapped[str] = mapped_column(String(200))
    principal_role: Mapped[str] = mapped_column(String(20))
    # The person acting, when the principal's key is tied to one: an id, which survives erasure as a pseudonym.
    principal_person_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(100))
    resource_type: Mapped[str] = mapped_column(String(50))
    resource_id: Mapped[uuid.UUID]
    owner_entity_id: Mapped[uuid.UUID | None]
    network_id: Mapped[uuid.UUID | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        Index("ix_audit_log_resource", "resource_type", "resource_id", "id"),
        Index("ix_audit_log_principal", "principal_id", "id"),
        Index("ix_audit_log_owner", "owner_entity_id", "id"),
        Index("ix_audit_log_occurred_at", "occurred_at"),
        Index("ix_audit_log_request_id", "request_id", postgresql_where=text("request_id IS NOT NULL")),
    )
