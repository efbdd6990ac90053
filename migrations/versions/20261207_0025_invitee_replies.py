"""Invitees answer their invitations: each invitee's answer (accepted, tentative, declined)
and when it was given, and the person who gave it when the link named one.

An expand step: nullable columns; the previous release neither reads nor writes them. Going
down keeps the answers on their meeting (``meetings.replies_kept_down``) so that coming up
again restores them.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("meeting_invitees", sa.Column("answer", sa.String(length=20), nullable=True))
    op.add_column("meeting_invitees", sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("meeting_invitees", sa.Column("answered_by_person_id", sa.Uuid(), nullable=True))
    op.create_check_constraint(
        op.f("ck_meeting_invitees_answer"),
        "meeting_invitees",
        "(answer IS NULL) = (answered_at IS NULL) AND (answer IS NULL OR answer IN ('accepted', 'tentative', 'declined'))",
    )
    if "replies_kept_down" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("meetings")}:
        op.execute(
            "UPDATE meeting_invitees i SET answer = r.answer, answered_at = r.answered_at,"
            " answered_by_person_id = r.answered_by_person_id"
            " FROM meetings m, jsonb_to_recordset(m.replies_kept_down)"
            "  AS r(id uuid, answer text, answered_at timestamptz, answered_by_person_id uuid)"
            " WHERE m.replies_kept_down IS NOT NULL AND i.meeting_id = m.id AND i.id = r.id"
        )
        op.drop_column("meetings", "replies_kept_down")


def downgrade() -> None:
    op.add_column("meetings", sa.Column("replies_kept_down", sa.dialects.postgresql.JSONB(), nullable=True))
    op.execute(
        "UPDATE meetings m SET replies_kept_down = (SELECT jsonb_agg(jsonb_build_object("
        " 'id', i.id, 'answer', i.answer, 'answered_at', i.answered_at,"
        " 'answered_by_person_id', i.answered_by_person_id))"
        " FROM meeting_invitees i WHERE i.meeting_id = m.id AND i.answer IS NOT NULL)"
        " WHERE EXISTS (SELECT 1 FROM meeting_invitees i WHERE i.meeting_id = m.id AND i.answer IS NOT NULL)"
    )
    op.drop_constraint(op.f("ck_meeting_invitees_answer"), "meeting_invitees", type_="check")
    op.drop_column("meeting_invitees", "answered_by_person_id")
    op.drop_column("meeting_invitees", "answered_at")
    op.drop_column("meeting_invitees", "answer")
