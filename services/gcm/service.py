"""Loading and reading the GCM reference data."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.gcm.data import OBJECTIVES, PRINCIPLES
from services.gcm.models import GcmObjective, GuidingPrinciple


async def load_reference_data(session: AsyncSession) -> None:
    """Insert or correct the 23 objectives and 10 principles; safe to run on every start."""
    objectives = insert(GcmObjective).values([{"number": n, "title": t} for n, t in enumerate(OBJECTIVES, start=1)])
    await session.execute(
        objectives.on_conflict_do_update(
            index_elements=[GcmObjective.number], set_={"title": objectives.excluded.title}
        )
    )
    principles = insert(GuidingPrinciple).values(
        [{"code": c, "title": t, "position": p} for p, (c, t) in enumerate(PRINCIPLES, start=1)]
    )
    await session.execute(
        principles.on_conflict_do_update(
            index_elements=[GuidingPrinciple.code],
            set_={"title": principles.excluded.title, "position": principles.excluded.position},
        )
    )


async def list_objectives(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(GcmObjective.number, GcmObjective.title).order_by(GcmObjective.number))
    return [dict(r) for r in rows.mappings()]


async def list_principles(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(GuidingPrinciple.code, GuidingPrinciple.title).order_by(GuidingPrinciple.position))
    return [dict(r) for r in rows.mappings()]
