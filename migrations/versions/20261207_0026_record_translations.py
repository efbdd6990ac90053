"""Translations of networks' and working groups' names and descriptions: a ``translations``
map on each (``{"fr": {"name": "...", "description": "..."}}``), in the five official
languages other than English, the record's own fields staying the English original.

An expand step: a column with a default; the previous release neither reads nor writes it.
Going down drops the translations.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("networks", "working_groups")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table,
            sa.Column(
                "translations",
                sqlalchemy.dialects.postgresql.JSONB(),
                server_default=sa.text("'{}'::jsonb"),
                nullable=False,
            ),
        )
        op.create_check_constraint(
            op.f(f"ck_{table}_translations_is_object"), table, "jsonb_typeof(translations) = 'object'"
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_constraint(op.f(f"ck_{table}_translations_is_object"), table, type_="check")
        op.drop_column(table, "translations")
