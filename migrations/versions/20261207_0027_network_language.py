"""A network's language: the official language its messages are written in when the person
they go to has none of their own (an entity's contact address, an external stakeholder).
English for every existing network.

An expand step: a column with a default; the previous release neither reads nor writes it.
Going down drops it.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("networks", sa.Column("language", sa.String(2), server_default="en", nullable=False))
    op.create_check_constraint(
        op.f("ck_networks_language_is_official"), "networks", "language IN ('ar', 'zh', 'en', 'fr', 'ru', 'es')"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_networks_language_is_official"), "networks", type_="check")
    op.drop_column("networks", "language")
