"""The coverage table, computed in one SQL statement."""

import uuid
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection

from services.entities.models import Entity
from services.gcm.models import GcmObjective
from services.mous.models import Mou, MouArea, MouAreaObjective, MouStatus
from services.working_groups.models import WorkingGroup, WorkingGroupObjective, WorkingGroupStatus

EMPTY: Any = literal_column("'[]'::jsonb")


async def coverage_rows(conn: AsyncConnection, network_id: uuid.UUID) -> list[dict[str, Any]]:
    """One row per objective: its active working groups, its active MoU areas with their
    leads, ``uncovered`` and ``contested`` (two or more different leads)."""
    groups = (
        select(
            WorkingGroupObjective.objective_number.label("objective"),
            func.jsonb_agg(
                aggregate_order_by(
                    func.jsonb_build_object(
                        "id", WorkingGroup.id, "name", WorkingGroup.name, "slug", WorkingGroup.slug
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
    query = (
        select(
            GcmObjective.number.label("objective"),
            GcmObjective.title,
            func.coalesce(groups.c.working_groups, EMPTY, type_=JSONB).label("working_groups"),
            func.coalesce(areas.c.mou_areas, EMPTY, type_=JSONB).label("mou_areas"),
            (groups.c.objective.is_(None) & areas.c.objective.is_(None)).label("uncovered"),
            (func.coalesce(areas.c.leads, 0) >= 2).label("contested"),
        )
        .outerjoin(groups, groups.c.objective == GcmObjective.number)
        .outerjoin(areas, areas.c.objective == GcmObjective.number)
        .order_by(GcmObjective.number)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]
