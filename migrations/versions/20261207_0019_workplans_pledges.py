"""Workplans (a network's plan for a period, its activities with their leads, dated status
history and outputs), champion countries and pledges. New tables only: the previous release
neither reads nor writes them.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 04:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "champion_countries",
        sa.Column("network_id", sa.Uuid(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("is_demo", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date", name=op.f("ck_champion_countries_period_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_champion_countries_network_id_networks"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_champion_countries")),
    )
    op.create_index(
        "ix_champion_countries_network_country",
        "champion_countries",
        ["network_id", "country_code", "start_date"],
        unique=False,
    )
    op.create_table(
        "pledges",
        sa.Column("network_id", sa.Uuid(), nullable=False),
        sa.Column("pledger_country_code", sa.String(length=2), nullable=True),
        sa.Column("pledger_entity_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("gcm_objectives", sa.ARRAY(sa.SmallInteger()), server_default="{}", nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("announced", "in_progress", "fulfilled", "withdrawn", name="pledge_status"),
            server_default="announced",
            nullable=False,
        ),
        sa.Column("status_changed_on", sa.Date(), nullable=False),
        sa.Column("reminded_for", sa.Date(), nullable=True),
        sa.Column("reminded_offsets", sa.ARRAY(sa.SmallInteger()), server_default="{}", nullable=False),
        sa.Column("overdue_reported_for", sa.Date(), nullable=True),
        sa.Column("is_demo", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "gcm_objectives <@ '{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23}'::smallint[]",
            name=op.f("ck_pledges_objectives_known"),
        ),
        sa.CheckConstraint(
            "num_nonnulls(pledger_country_code, pledger_entity_id) = 1", name=op.f("ck_pledges_one_pledger")
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_pledges_network_id_networks"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["pledger_entity_id"],
            ["entities.id"],
            name=op.f("fk_pledges_pledger_entity_id_entities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pledges")),
    )
    op.create_index("ix_pledges_network_id_id", "pledges", ["network_id", "id"], unique=False)
    op.create_index(
        "ix_pledges_open_due",
        "pledges",
        ["due_date"],
        unique=False,
        postgresql_where=sa.text("status IN ('announced', 'in_progress')"),
    )
    op.create_index(op.f("ix_pledges_pledger_entity_id"), "pledges", ["pledger_entity_id"], unique=False)
    op.create_table(
        "workplans",
        sa.Column("network_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_workplans_period_ordered")),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_workplans_network_id_networks"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workplans")),
    )
    op.create_index("ix_workplans_network_id_id", "workplans", ["network_id", "id"], unique=False)
    op.create_table(
        "workplan_activities",
        sa.Column("workplan_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("working_group_id", sa.Uuid(), nullable=True),
        sa.Column("workstream", sa.String(length=300), nullable=True),
        sa.Column("gcm_objectives", sa.ARRAY(sa.SmallInteger()), server_default="{}", nullable=False),
        sa.Column("guiding_principles", sa.ARRAY(sa.String(length=40)), server_default="{}", nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("yet_to_start", "ongoing", "completed", name="activity_status"),
            server_default="yet_to_start",
            nullable=False,
        ),
        sa.Column("status_changed_on", sa.Date(), nullable=False),
        sa.Column("overdue_reported_for", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "gcm_objectives <@ '{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23}'::smallint[]",
            name=op.f("ck_workplan_activities_objectives_known"),
        ),
        sa.CheckConstraint(
            "status <> 'completed' OR end_date IS NOT NULL", name=op.f("ck_workplan_activities_completed_has_end")
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date", name=op.f("ck_workplan_activities_period_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["working_group_id"],
            ["working_groups.id"],
            name=op.f("fk_workplan_activities_working_group_id_working_groups"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["workplan_id"],
            ["workplans.id"],
            name=op.f("fk_workplan_activities_workplan_id_workplans"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workplan_activities")),
    )
    op.create_index(
        "ix_workplan_activities_open_end",
        "workplan_activities",
        ["end_date"],
        unique=False,
        postgresql_where=sa.text("status <> 'completed'"),
    )
    op.create_index(
        op.f("ix_workplan_activities_working_group_id"), "workplan_activities", ["working_group_id"], unique=False
    )
    op.create_index("ix_workplan_activities_workplan_id_id", "workplan_activities", ["workplan_id", "id"], unique=False)
    op.create_table(
        "workplan_activity_leads",
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["workplan_activities.id"],
            name=op.f("fk_workplan_activity_leads_activity_id_workplan_activities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["entities.id"],
            name=op.f("fk_workplan_activity_leads_entity_id_entities"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("activity_id", "entity_id", name=op.f("pk_workplan_activity_leads")),
    )
    op.create_index(
        op.f("ix_workplan_activity_leads_entity_id"), "workplan_activity_leads", ["entity_id"], unique=False
    )
    op.create_table(
        "workplan_activity_outputs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("link", sa.String(length=2000), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["workplan_activities.id"],
            name=op.f("fk_workplan_activity_outputs_activity_id_workplan_activities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workplan_activity_outputs")),
    )
    op.create_index(
        "ix_workplan_activity_outputs_activity",
        "workplan_activity_outputs",
        ["activity_id", "published_on", "id"],
        unique=False,
    )
    op.create_table(
        "workplan_activity_status_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("status", postgresql.ENUM(name="activity_status", create_type=False), nullable=False),
        sa.Column("changed_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["workplan_activities.id"],
            name=op.f("fk_workplan_activity_status_changes_activity_id_workplan_activities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workplan_activity_status_changes")),
    )
    op.create_index(
        "ix_workplan_activity_status_changes_activity",
        "workplan_activity_status_changes",
        ["activity_id", "changed_on", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_workplan_activity_status_changes_activity", table_name="workplan_activity_status_changes")
    op.drop_table("workplan_activity_status_changes")
    op.drop_index("ix_workplan_activity_outputs_activity", table_name="workplan_activity_outputs")
    op.drop_table("workplan_activity_outputs")
    op.drop_index(op.f("ix_workplan_activity_leads_entity_id"), table_name="workplan_activity_leads")
    op.drop_table("workplan_activity_leads")
    op.drop_index("ix_workplan_activities_workplan_id_id", table_name="workplan_activities")
    op.drop_index(op.f("ix_workplan_activities_working_group_id"), table_name="workplan_activities")
    op.drop_index(
        "ix_workplan_activities_open_end",
        table_name="workplan_activities",
        postgresql_where=sa.text("status <> 'completed'"),
    )
    op.drop_table("workplan_activities")
    op.drop_index("ix_workplans_network_id_id", table_name="workplans")
    op.drop_table("workplans")
    op.drop_index(op.f("ix_pledges_pledger_entity_id"), table_name="pledges")
    op.drop_index(
        "ix_pledges_open_due", table_name="pledges", postgresql_where=sa.text("status IN ('announced', 'in_progress')")
    )
    op.drop_index("ix_pledges_network_id_id", table_name="pledges")
    op.drop_table("pledges")
    op.drop_index("ix_champion_countries_network_country", table_name="champion_countries")
    op.drop_table("champion_countries")
    sa.Enum(name="activity_status").drop(op.get_bind(), checkfirst=False)
    sa.Enum(name="pledge_status").drop(op.get_bind(), checkfirst=False)
