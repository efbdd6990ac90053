"""The change feed's order (events by transaction, then position).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_feed_order", "events", ["transaction_id", "position"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_events_feed_order", table_name="events")
