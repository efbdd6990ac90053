"""Webhook and e-mail deliveries carry their event's network, so that the indicators count a
network's deliveries over a period from one index (they joined each delivery to its event:
2 s at the benchmark's full size, 125,000 deliveries a year). And an index for the scheduler's
question "which active MoUs have ended?" (78 ms over 50,000 MoUs without it).

An expand step: the column is nullable, filled here from the events (a network's events keep
their network), and written by the fan-out from now on. The previous release neither reads
nor writes it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("webhook_deliveries", "email_deliveries")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("network_id", sa.Uuid(), nullable=True))
        op.execute(
            f"UPDATE {table} d SET network_id = ev.network_id FROM events ev "  # noqa: S608 - constant names
            "WHERE ev.id = d.event_id AND ev.network_id IS NOT NULL"
        )
        op.create_index(
            f"ix_{table}_network_created",
            table,
            ["network_id", "created_at"],
            unique=False,
            postgresql_include=["status", "attempts"],
            postgresql_where=sa.text("network_id IS NOT NULL"),
        )

    op.create_index("ix_mous_active_end", "mous", ["end_date"], postgresql_where=sa.text("status = 'active'"))


def downgrade() -> None:
    op.drop_index("ix_mous_active_end", table_name="mous")
    for table in TABLES:
        op.drop_index(f"ix_{table}_network_created", table_name=table)
        op.drop_column(table, "network_id")
