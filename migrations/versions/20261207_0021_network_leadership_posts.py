"""Network leadership is dated: a network's coordinators and secretariats are posts
(``network_posts``), one or more of each on a day, each held by an entity from a start date
to an end date. Each network's coordinator until now becomes its coordinator and its
secretariat (it served as both) from the day the network was established, and
``networks.coordinator_entity_id`` goes: the API reads the lead post in its place.

This is a contract step for ``networks.coordinator_entity_id``: the previous release reads
it, so it does not run on this schema; roll back by going down a revision. Down again, each
network's coordinator is its lead coordinator post (of those running today or later, the
first to start; else the last to end), and the posts wait in ``networks.posts_kept_down``:
up again, a network whose coordinator did not change meanwhile gets its posts back as they
were (ids, dates, versions), so a round trip loses no co-lead; another gets the posts the
column gives.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "network_posts",
        sa.Column("network_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.Enum("coordinator", "secretariat", name="network_post_role"), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.String(length=500), nullable=True),
        sa.Column("is_demo", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name=op.f("ck_network_posts_period_ordered")),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_network_posts_entity_id_entities"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_network_posts_network_id_networks"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_posts")),
    )
    op.create_index(op.f("ix_network_posts_entity_id"), "network_posts", ["entity_id"], unique=False)
    op.create_index("ix_network_posts_network_role", "network_posts", ["network_id", "role", "start_date"])
    op.create_index(
        "uq_network_posts_open",
        "network_posts",
        ["network_id", "role", "entity_id"],
        unique=True,
        postgresql_where=sa.text("end_date IS NULL"),
    )
    kept = "posts_kept_down" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("networks")}
    unchanged = "n.posts_kept_down->>'coordinator_entity_id' = n.coordinator_entity_id::text" if kept else "false"
    if kept:  # posts kept by a downgrade, for networks whose coordinator did not change since
        op.execute(
            "INSERT INTO network_posts SELECT p.* FROM networks n, "  # noqa: S608 - constant fragments
            "jsonb_populate_recordset(NULL::network_posts, n.posts_kept_down->'posts') AS p "
            f"WHERE {unchanged}"
        )
    # The coordinator served as the secretariat: it holds both posts from the network's start.
    op.execute(
        "INSERT INTO network_posts (id, network_id, role, entity_id, start_date, is_demo, created_at, updated_at) "  # noqa: S608 - constant fragments
        "SELECT gen_random_uuid(), n.id, r.role::network_post_role, n.coordinator_entity_id, n.established_on, "
        "n.is_demo, n.created_at, n.created_at "
        f"FROM networks n CROSS JOIN (VALUES ('coordinator'), ('secretariat')) AS r(role) WHERE NOT ({unchanged})"
    )
    if kept:
        op.drop_column("networks", "posts_kept_down")
    op.drop_index(op.f("ix_networks_coordinator_entity_id"), table_name="networks")
    op.drop_constraint(op.f("fk_networks_coordinator_entity_id_entities"), "networks", type_="foreignkey")
    op.drop_column("networks", "coordinator_entity_id")


def downgrade() -> None:
    op.add_column("networks", sa.Column("coordinator_entity_id", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE networks n SET coordinator_entity_id = ("
        " SELECT p.entity_id FROM network_posts p WHERE p.network_id = n.id AND p.role = 'coordinator'"
        " ORDER BY (p.end_date IS NULL OR p.end_date >= current_date) DESC,"
        "  CASE WHEN p.end_date IS NULL OR p.end_date >= current_date THEN p.start_date END,"
        "  p.end_date DESC NULLS FIRST, p.id"
        " LIMIT 1)"
    )
    op.alter_column("networks", "coordinator_entity_id", nullable=False)
    op.add_column("networks", sa.Column("posts_kept_down", sa.dialects.postgresql.JSONB(), nullable=True))
    op.execute(
        "UPDATE networks n SET posts_kept_down = jsonb_build_object("
        " 'coordinator_entity_id', n.coordinator_entity_id,"
        " 'posts', (SELECT jsonb_agg(to_jsonb(p)) FROM network_posts p WHERE p.network_id = n.id))"
    )
    op.create_foreign_key(
        op.f("fk_networks_coordinator_entity_id_entities"),
        "networks",
        "entities",
        ["coordinator_entity_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_index(op.f("ix_networks_coordinator_entity_id"), "networks", ["coordinator_entity_id"], unique=False)
    op.drop_index("uq_network_posts_open", table_name="network_posts")
    op.drop_index("ix_network_posts_network_role", table_name="network_posts")
    op.drop_index(op.f("ix_network_posts_entity_id"), table_name="network_posts")
    op.drop_table("network_posts")
    sa.Enum(name="network_post_role").drop(op.get_bind(), checkfirst=True)
