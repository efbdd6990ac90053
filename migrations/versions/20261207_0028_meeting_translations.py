"""Translations of meetings' titles: a ``translations`` map on each meeting
(``{"fr": {"title": "..."}}``), in the five official languages other than English, the
meeting's own title staying the original, as networks and working groups have since 0026.

An expand step: a column with a default; the previous release neither reads nor writes it.
Going down drops the translations.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "meetings",
        sa.Column(
            "translations",
            sqlalchemy.dialects.postgresql.JSONB(),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_meetings_translations_is_object"), "meetings", "jsonb_typeof(translations) = 'object'"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_meetings_translations_is_object"), "meetings", type_="check")
    op.drop_column("meetings", "translations")
