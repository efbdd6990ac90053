"""MoUs in given states, built through the services."""

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.mous.schemas import AreaIn, MouCreate, MouSign
from services.mous.service import create_mou, sign_mou, submit_mou
from services.principals import SYSTEM

_counter = iter(range(1, 1_000_000))


async def make_mou(
    session: AsyncSession,
    *,
    network_id: Any,
    parties: list[Any],
    lead: Any | None = None,
    objectives: tuple[int, ...] = (1,),
    state: str = "draft",
    effective_date: date = date(2020, 1, 1),
    end_date: date | None = None,
    reference: str | None = None,
) -> dict[str, Any]:
    """A MoU between ``parties`` with one area led by ``lead`` (default: the first party),
    brought to ``state``: draft, negotiation, or signed (active when effective_date has come)."""
    row = await create_mou(
        session,
        data=MouCreate(
            network_id=network_id,
            title="Cooperation on migration data",
            reference_number=reference or f"MOU/{next(_counter)}",
            party_entity_ids=parties,
            effective_date=effective_date,
            end_date=end_date,
            areas=[
                AreaIn(description="Migration data", gcm_objectives=list(objectives), lead_entity_id=lead or parties[0])
            ],
        ),
        actor=SYSTEM,
    )
    if state in ("negotiation", "signed"):
        row = await submit_mou(session, mou_id=row["id"], expected_version=None, actor=SYSTEM)
    if state == "signed":
        for party in parties:
            row = await sign_mou(
                session,
                mou_id=row["id"],
                data=MouSign(
                    entity_id=party,
                    signatory_name="A. Signatory",
                    signatory_title="Director",
                    signed_on=date(2019, 12, 1),
                ),
                expected_version=None,
                actor=SYSTEM,
            )
    await session.flush()
    return row
