"""Single-line text holds no control character (docs/API.md, "Text"): rows written before the
rule was enforced are repaired, each control character (line breaks and tabs included)
replaced with a space, as the calendar and e-mail composers show such text anyway.

A repaired record's version moves on (a child row's parent's: an entity for its identifiers,
a meeting for its invitees, a MoU for its parties and documents), so that a client holding
its ETag sees that it changed. No event is appended: the record says what it said, minus
characters no output could show. Nothing to undo on the way down; the repair stays.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The characters single-line text may not hold (services.schemas: C0, DEL, C1, U+2028, U+2029;
# PostgreSQL text holds no NUL). Passed as a bound value: the characters themselves.
CONTROL = "[\x01-\x1f\x7f-\x9f\u2028\u2029]"

# (table, single-line columns, the versioned table whose record it belongs to, its key there)
COLUMNS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("entities", ("name",), "entities", "id"),
    ("entity_identifiers", ("value",), "entities", "entity_id"),
    ("networks", ("name", "short_name", "region"), "networks", "id"),
    ("working_groups", ("name",), "working_groups", "id"),
    ("meetings", ("title", "location"), "meetings", "id"),
    ("meeting_invitees", ("name",), "meetings", "meeting_id"),
    ("mous", ("title",), "mous", "id"),
    ("mou_parties", ("signatory_name", "signatory_title"), "mous", "mou_id"),
    ("mou_documents", ("title",), "mous", "mou_id"),
    ("api_keys", ("name",), "api_keys", "id"),
    ("calendar_subscriptions", ("name",), "calendar_subscriptions", "id"),
)

# A meeting's agenda items are JSON objects whose title and presenter are single-line.
_AGENDA = """
WITH repaired AS (
    SELECT m.id, jsonb_agg(
        CASE WHEN jsonb_typeof(e.item) = 'object' THEN e.item || jsonb_strip_nulls(jsonb_build_object(
            'title', regexp_replace(e.item->>'title', :control, ' ', 'g'),
            'presenter', regexp_replace(e.item->>'presenter', :control, ' ', 'g')))
        ELSE e.item END ORDER BY e.position) AS agenda
    FROM meetings AS m, jsonb_array_elements(m.agenda) WITH ORDINALITY AS e(item, position)
    WHERE jsonb_typeof(m.agenda) = 'array' AND EXISTS (
        SELECT FROM jsonb_array_elements(m.agenda) AS i
        WHERE i->>'title' ~ :control OR i->>'presenter' ~ :control)
    GROUP BY m.id
)
UPDATE meetings SET agenda = repaired.agenda, version = version + 1
FROM repaired WHERE meetings.id = repaired.id
"""


def _repair(table: str, columns: tuple[str, ...], parent: str, key: str) -> None:
    bad = " OR ".join(f"{column} ~ :control" for column in columns)
    fixed = ", ".join(f"{column} = regexp_replace({column}, :control, ' ', 'g')" for column in columns)
    if table == parent:
        op.execute(
            sa.text(f"UPDATE {table} SET {fixed}, version = version + 1 WHERE {bad}").bindparams(control=CONTROL)  # noqa: S608 - names from COLUMNS
        )
        return
    op.execute(
        sa.text(
            f"WITH repaired AS (UPDATE {table} SET {fixed} WHERE {bad} RETURNING {key}) "  # noqa: S608 - names from COLUMNS
            f"UPDATE {parent} SET version = version + 1 WHERE id IN (SELECT {key} FROM repaired)"
        ).bindparams(control=CONTROL)
    )


def upgrade() -> None:
    for table, columns, parent, key in COLUMNS:
        _repair(table, columns, parent, key)
    op.execute(sa.text(_AGENDA).bindparams(control=CONTROL))


def downgrade() -> None:
    pass  # the repaired text stays repaired; the previous release reads it as it is
