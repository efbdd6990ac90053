"""Focal points as people: a person record for each focal point (name, title, e-mail,
preferred language), their dated focal-point posts for an entity, a network or a working
group, an API key's person, and the person acting in each audit entry.

An expand step: new tables and nullable columns; the previous release neither reads nor
writes them, and no existing row changes. Going down keeps the people and their posts on
their entity (``entities.people_kept_down``) so that coming up again restores them; an API
key's person and the audit entries' acting person are not kept.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _record_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("preferred_language", sa.String(length=2), server_default="en", nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_demo", sa.Boolean(), server_default="false", nullable=False),
        *_record_columns(),
        sa.CheckConstraint(
            "preferred_language IN ('ar', 'zh', 'en', 'fr', 'ru', 'es')", name=op.f("ck_people_language_is_official")
        ),
        sa.CheckConstraint("(erased_at IS NULL) = (name IS NOT NULL)", name=op.f("ck_people_named_unless_erased")),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_people_entity_id_entities"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    op.create_index(op.f("ix_people_entity_id"), "people", ["entity_id"], unique=False)
    op.create_table(
        "focal_point_posts",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=True),
        sa.Column("network_id", sa.Uuid(), nullable=True),
        sa.Column("working_group_id", sa.Uuid(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.String(length=500), nullable=True),
        sa.Column("is_demo", sa.Boolean(), server_default="false", nullable=False),
        *_record_columns(),
        sa.CheckConstraint(
            "num_nonnulls(entity_id, network_id, working_group_id) = 1", name=op.f("ck_focal_point_posts_one_subject")
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date", name=op.f("ck_focal_point_posts_period_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_focal_point_posts_person_id_people"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_focal_point_posts_entity_id_entities"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_focal_point_posts_network_id_networks"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["working_group_id"],
            ["working_groups.id"],
            name=op.f("fk_focal_point_posts_working_group_id_working_groups"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_focal_point_posts")),
    )
    _restore_kept_down()
    op.create_index(op.f("ix_focal_point_posts_person_id"), "focal_point_posts", ["person_id"], unique=False)
    op.create_index("ix_focal_point_posts_entity", "focal_point_posts", ["entity_id", "start_date"])
    op.create_index("ix_focal_point_posts_network", "focal_point_posts", ["network_id", "start_date"])
    op.create_index("ix_focal_point_posts_working_group", "focal_point_posts", ["working_group_id", "start_date"])
    op.add_column("api_keys", sa.Column("person_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_api_keys_person_id_people"), "api_keys", "people", ["person_id"], ["id"], ondelete="RESTRICT"
    )
    op.create_index(op.f("ix_api_keys_person_id"), "api_keys", ["person_id"], unique=False)
    op.add_column("audit_log", sa.Column("principal_person_id", sa.Uuid(), nullable=True))


def _restore_kept_down() -> None:
    if "people_kept_down" not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("entities")}:
        return
    for table, member in (("people", "people"), ("focal_point_posts", "posts")):
        op.execute(
            f"INSERT INTO {table} SELECT r.* FROM entities e, "  # noqa: S608 - constant fragments
            f"jsonb_populate_recordset(NULL::{table}, e.people_kept_down->'{member}') AS r "
            "WHERE e.people_kept_down IS NOT NULL"
        )
    op.drop_column("entities", "people_kept_down")


def downgrade() -> None:
    op.add_column("entities", sa.Column("people_kept_down", sa.dialects.postgresql.JSONB(), nullable=True))
    op.execute(
        "UPDATE entities e SET people_kept_down = jsonb_build_object("
        " 'people', (SELECT jsonb_agg(to_jsonb(p)) FROM people p WHERE p.entity_id = e.id),"
        " 'posts', COALESCE((SELECT jsonb_agg(to_jsonb(f)) FROM focal_point_posts f"
        "  JOIN people p ON p.id = f.person_id WHERE p.entity_id = e.id), '[]'::jsonb))"
        " WHERE EXISTS (SELECT 1 FROM people p WHERE p.entity_id = e.id)"
    )
    op.drop_column("audit_log", "principal_person_id")
    op.drop_index(op.f("ix_api_keys_person_id"), table_name="api_keys")
    op.drop_constraint(op.f("fk_api_keys_person_id_people"), "api_keys", type_="foreignkey")
    op.drop_column("api_keys", "person_id")
    op.drop_table("focal_point_posts")
    op.drop_table("people")
