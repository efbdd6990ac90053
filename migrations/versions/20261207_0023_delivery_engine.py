"""One delivery engine for webhooks and e-mail: e-mail deliveries get an attempt log like
webhook deliveries' (``email_attempts``: when, the SMTP reply code, how long, what went
wrong) and keep the last reply code on the delivery (``last_status_code``), so that one
outcome path records both transports the same way. Both delivery tables get a partial index
of their failed rows, which `registry status` and the metrics count.

An expand step: a new table and a nullable column; the previous release neither reads nor
writes them, and no existing row changes.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("webhook_deliveries", "email_deliveries")


def upgrade() -> None:
    op.add_column("email_deliveries", sa.Column("last_status_code", sa.SmallInteger(), nullable=True))
    op.create_table(
        "email_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["email_deliveries.id"],
            name=op.f("fk_email_attempts_delivery_id_email_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_attempts")),
    )
    op.create_index(op.f("ix_email_attempts_delivery_id"), "email_attempts", ["delivery_id"], unique=False)
    for table in TABLES:
        op.create_index(f"ix_{table}_failed", table, ["id"], postgresql_where=sa.text("status = 'failed'"))


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_failed", table_name=table, postgresql_where=sa.text("status = 'failed'"))
    op.drop_index(op.f("ix_email_attempts_delivery_id"), table_name="email_attempts")
    op.drop_table("email_attempts")
    op.drop_column("email_deliveries", "last_status_code")
