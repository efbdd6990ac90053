import enum
import uuid
from datetime import date
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.base import Base, RecordMixin
from services.entities.models import enum_column


class NetworkScope(enum.StrEnum):
    GLOBAL = "global"
    REGIONAL = "regional"
    COUNTRY = "country"


class Network(RecordMixin, Base):
    """A coordination network. Who leads it is dated: its coordinator and secretariat posts
    (``NetworkPost``), one or more of each on a day (co-leads, co-secretariats)."""

    __tablename__ = "networks"

    name: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str | None] = mapped_column(String(50))
    scope: Mapped[NetworkScope] = mapped_column(enum_column(NetworkScope, "network_scope"))
    parent_network_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("networks.id", ondelete="RESTRICT"), index=True
    )
    region: Mapped[str | None] = mapped_column(String(200))
    country_code: Mapped[str | None] = mapped_column(String(2))
    established_on: Mapped[date]
    description: Mapped[str | None] = mapped_column(Text)
    # {"fr": {"name": ..., "short_name": ..., "description": ...}, ...}: the other official
    # languages; the fields above are the English original (services/schemas.py, translations).
    translations: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # The official language its messages are written in for a recipient with no language of
    # their own (services/mail/compose.py, recipient_language).
    language: Mapped[str] = mapped_column(String(2), server_default="en")
    is_demo: Mapped[bool] = mapped_column(server_default="false")

    __table_args__ = (
        CheckConstraint("jsonb_typeof(translations) = 'object'", name="translations_is_object"),
        CheckConstraint("language IN ('ar', 'zh', 'en', 'fr', 'ru', 'es')", name="language_is_official"),
        CheckConstraint("(scope = 'global') = (parent_network_id IS NULL)", name="parent_unless_global"),
        CheckConstraint("scope <> 'regional' OR region IS NOT NULL", name="regional_has_region"),
        # A region is a UN regional commission (services/reference/regions.py).
        CheckConstraint("region IN ('ECA', 'ECE', 'ECLAC', 'ESCAP', 'ESCWA')", name="region_is_commission"),
        CheckConstraint("scope <> 'country' OR country_code IS NOT NULL", name="country_has_code"),
        # There is one UN Network on Migration.
        Index("uq_networks_one_global", "scope", unique=True, postgresql_where=text("scope = 'global'")),
    )


class PostRole(enum.StrEnum):
    COORDINATOR = "coordinator"
    SECRETARIAT = "secretariat"


class NetworkPost(RecordMixin, Base):
    """One entity's coordinator or secretariat post in a network, from ``start_date`` to
    ``end_date`` (inclusive; open-ended when unset). Several posts of a role may run at once."""

    __tablename__ = "network_posts"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="RESTRICT"))
    role: Mapped[PostRole] = mapped_column(enum_column(PostRole, "network_post_role"))
    entity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entities.id", ondelete="RESTRICT"), index=True)
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    end_reason: Mapped[str | None] = mapped_column(String(500))
    is_demo: Mapped[bool] = mapped_column(server_default="false")

    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period_ordered"),
        Index("ix_network_posts_network_role", "network_id", "role", "start_date"),
        Index(
            "uq_network_posts_open",
            "network_id",
            "role",
            "entity_id",
            unique=True,
            postgresql_where=text("end_date IS NULL"),
        ),
    )
