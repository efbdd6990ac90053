import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base, RecordMixin
from services.entities.models import enum_column
from services.principals import Role


class ApiKey(RecordMixin, Base):
    """A key's metadata and the SHA-256 of the key; the key itself is never stored."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(20), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "principal_role"))
    entity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("entities.id", ondelete="RESTRICT"), index=True)
    # The person the key is issued to (a focal point of the key's entity): the audit trail names them.
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    last_used_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("role <> 'focal_point' OR entity_id IS NOT NULL", name="focal_point_has_entity"),
        CheckConstraint("role <> 'system'", name="no_system_keys"),
    )
