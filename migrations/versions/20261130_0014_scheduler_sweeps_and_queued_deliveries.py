"""The scheduler's fenced sweep log, and deliveries marked while a broker message for them
is queued (one message per due delivery).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DELIVERY_TABLES = ("webhook_deliveries", "email_deliveries")


def upgrade() -> None:
    op.create_table(
        "scheduler_sweeps",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("scheduler_id", sa.String(length=200), nullable=False),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduler_sweeps")),
    )
    op.create_index("ix_scheduler_sweeps_started", "scheduler_sweeps", ["started_at"], unique=False)
    for table in DELIVERY_TABLES:
        op.add_column(table, sa.Column("queued_until", sa.DateTime(timezone=True), nullable=True))
        op.add_column(table, sa.Column("queued_count", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    for table in DELIVERY_TABLES:
        op.drop_column(table, "queued_count")
        op.drop_column(table, "queued_until")
    op.drop_index("ix_scheduler_sweeps_started", table_name="scheduler_sweeps")
    op.drop_table("scheduler_sweeps")
