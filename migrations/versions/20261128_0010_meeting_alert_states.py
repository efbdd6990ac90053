"""Annual-meeting alerts per state: at_risk, then overdue, each once per due date.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 05:52:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("meeting_lapses", sa.Column("state", sa.String(length=20), server_default="overdue", nullable=False))
    op.alter_column("meeting_lapses", "state", server_default=None)
    op.drop_constraint("pk_meeting_lapses", "meeting_lapses", type_="primary")
    op.create_primary_key("pk_meeting_lapses", "meeting_lapses", ["network_id", "due_by", "state"])


def downgrade() -> None:
    op.execute("DELETE FROM meeting_lapses WHERE state <> 'overdue'")
    op.drop_constraint("pk_meeting_lapses", "meeting_lapses", type_="primary")
    op.create_primary_key("pk_meeting_lapses", "meeting_lapses", ["network_id", "due_by"])
    op.drop_column("meeting_lapses", "state")
