"""The coverage table, computed in one SQL statement."""

import uuid
from typing import Any

from sqlalchemy import Date, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection

from services.clock import clock
from services.entities.models import Entity
from services.gcm.models import GcmObjective
from services.mous.models import Mou, MouArea, MouAreaObjective, MouStatus
from services.working_groups.models import (
    PostKind,
    WorkingGroup,
    WorkingGroupObjective,
    WorkingGroupPost,
    WorkingGroupStatus,
)
from services.working_groups.schemas import post_active_on
from services.workplans.models import Activity, ActivityStatus, Workplan

EMPTY: Any = literal_column("'[]'::jsonb")


SEATS_ON = bindparam("seats_on", type_=Date, callable_=clock.today)
CURRENT_ON = bindparam("current_on", type_=Date, callable_=clock.today)


def _current_activities(network_id: uuid.UUID) -> Any:
    """Per objective, the activities not completed of the network's workplans whose period
    holds today: work under way or planned now, counted beside the standing mechanisms."""
    objectives = (
        select(func.unnest(Activity.gcm_objectives).label("objective"))
        .join(Workplan, Workplan.id == Activity.workplan_id)
        .where(
            Workplan.network_id == network_id,
            Workplan.start_date <= CURRENT_ON,
            Workplan.end_date >= CURRENT_ON,
            Activity.status != ActivityStatus.COMPLETED,
        )
        .subquery("activity_objectives")
    )
    return (
        select(objectives.c.objective, func.count().label("activities"))
        .group_by(objectives.c.objective)
        .subquery("activities")
    )


def _seats(*, un_system: bool) -> Any:
    """The group's seats held today by members of the network (UN-system entities), or by
    stakeholders, whom a seat does not make members."""
    return (
        select(func.count())
        .select_from(WorkingGroupPost)
        .join(Entity, Entity.id == WorkingGroupPost.entity_id)
        .where(
            WorkingGroupPost.working_group_id == WorkingGroup.id,
            WorkingGroupPost.kind == PostKind.MEMBER,
            post_active_on(SEATS_ON),
            Entity.un_system.is_(un_system),
        )
        .scalar_subquery()
    )


async def coverage_rows(conn: AsyncConnection, network_id: uuid.UUID) -> list[dict[str, Any]]:
    """One row per objective: its active working groups (with today's seats, by network
    members and by stakeholders), its active MoU areas with their
    leads, its current workplan activities (counted; they do not make it covered),
    ``uncovered`` and ``contested`` (two or more different leads)."""
    groups = (
        select(
            WorkingGroupObjective.objective_number.label("objective"),
            func.jsonb_agg(
                aggregate_order_by(
                    func.jsonb_build_object(
                        "id",
                        WorkingGroup.id,
                        "name",
                        WorkingGroup.name,
                        "slug",
                        WorkingGroup.slug,
                        "network_member_seats",
                        _seats(un_system=True),
                        "stakeholder_seats",
                        _seats(un_system=False),
                    ),
                    WorkingGroup.name,
                )
            ).label("working_groups"),
        )
        .join(WorkingGroup, WorkingGroup.id == WorkingGroupObjective.working_group_id)
        .where(WorkingGroup.network_id == network_id, WorkingGroup.status == WorkingGroupStatus.ACTIVE)
        .group_by(WorkingGroupObjective.objective_number)
        .subquery("groups")
    )
    area = func.jsonb_build_object(
        "mou_id",
        Mou.id,
        "reference_number",
        Mou.reference_number,
        "area_id",
        MouArea.id,
        "description",
        MouArea.description,
        "lead",
        func.jsonb_build_object("id", Entity.id, "acronym", Entity.acronym, "name", Entity.name),
    )
    areas = (
        select(
            MouAreaObjective.objective_number.label("objective"),
            func.jsonb_agg(aggregate_order_by(area, Mou.reference_number, MouArea.position)).label("mou_areas"),
            func.count(func.distinct(MouArea.lead_entity_id)).label("leads"),
        )
        .join(MouArea, MouArea.id == MouAreaObjective.area_id)
        .join(Mou, Mou.id == MouArea.mou_id)
        .join(Entity, Entity.id == MouArea.lead_entity_id)
        .where(Mou.network_id == network_id, Mou.status == MouStatus.ACTIVE)
        .group_by(MouAreaObjective.objective_number)
        .subquery("areas")
    )
    activities = _current_activities(network_id)
    query = (
        select(
            GcmObjective.number.label("objective"),
            GcmObjective.title,
            func.coalesce(groups.c.working_groups, EMPTY, type_=JSONB).label("working_groups"),
            func.coalesce(areas.c.mou_areas, EMPTY, type_=JSONB).label("mou_areas"),
            func.coalesce(activities.c.activities, 0).label("activities"),
            (groups.c.objective.is_(None) & areas.c.objective.is_(None)).label("uncovered"),
            (func.coalesce(areas.c.leads, 0) >= 2).label("contested"),
        )
        .outerjoin(groups, groups.c.objective == GcmObjective.number)
        .outerjoin(areas, areas.c.objective == GcmObjective.number)
        .outerjoin(activities, activities.c.objective == GcmObjective.number)
        .order_by(GcmObjective.number)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]
