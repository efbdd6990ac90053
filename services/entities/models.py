import enum
import uuid

from sqlalchemy import Computed, Enum, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base, RecordMixin


class EntityKind(enum.StrEnum):
    UN_SYSTEM = "un_system"
    MEMBER_STATE = "member_state"
    CIVIL_SOCIETY = "civil_society"
    PRIVATE_SECTOR = "private_sector"
    ACADEMIA = "academia"
    LOCAL_AUTHORITY = "local_authority"
    OTHER = "other"


class OfficeLevel(enum.StrEnum):
    HEADQUARTERS = "headquarters"
    REGIONAL = "regional"
    COUNTRY = "country"


def enum_column(enum_class: type[enum.Enum], name: str) -> Enum:
    """A PostgreSQL enum stored by value."""
    return Enum(enum_class, name=name, values_callable=lambda members: [m.value for m in members])


class Entity(RecordMixin, Base):
    __tablename__ = "entities"

    acronym: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[EntityKind] = mapped_column(enum_column(EntityKind, "entity_kind"))
    un_system: Mapped[bool] = mapped_column(Computed("kind = 'un_system'", persisted=True))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("entities.id", ondelete="RESTRICT"), index=True)
    office_level: Mapped[OfficeLevel] = mapped_column(
        enum_column(OfficeLevel, "office_level"), server_default=OfficeLevel.HEADQUARTERS.value
    )
    country_code: Mapped[str | None] = mapped_column(String(2))
    website: Mapped[str | None] = mapped_column(String(500))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    is_demo: Mapped[bool] = mapped_column(server_default="false")

    __table_args__ = (Index("uq_entities_acronym_lower", func.lower(acronym), unique=True),)


class EntityIdentifier(Base):
    """An external identifier of an entity (IATI, ROR, Wikidata...); one owner per value."""

    __tablename__ = "entity_identifiers"

    entity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True)
    scheme: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)

    __table_args__ = (UniqueConstraint("scheme", "value"),)
