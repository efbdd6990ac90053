"""Records for tests, built through the services so every rule applies."""

import itertools
import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.entities.models import EntityKind
from services.entities.schemas import EntityCreate
from services.entities.service import create_entity
from services.memberships.models import MembershipTier
from services.memberships.schemas import MembershipCreate
from services.memberships.service import create_membership
from services.networks.models import NetworkScope
from services.networks.schemas import CoordinatorIn, NetworkCreate
from services.networks.service import create_network
from services.principals import SYSTEM

_counter = itertools.count(1)


async def make_entity(
    session: AsyncSession, *, kind: EntityKind = EntityKind.UN_SYSTEM, acronym: str | None = None, **fields: Any
) -> dict[str, Any]:
    n = next(_counter)
    row = await create_entity(
        session,
        data=EntityCreate(acronym=acronym or f"E{n}", name=fields.pop("name", f"Entity {n}"), kind=kind, **fields),
        actor=SYSTEM,
    )
    await session.flush()  # the event too, as the request's commit would
    return row


async def make_network(
    session: AsyncSession,
    *,
    coordinator_id: uuid.UUID | None = None,
    scope: NetworkScope = NetworkScope.GLOBAL,
    established_on: date = date(2018, 12, 9),
    **fields: Any,
) -> dict[str, Any]:
    if coordinator_id is None:
        coordinator_id = (await make_entity(session, acronym=f"COORD{next(_counter)}"))["id"]
    row = await create_network(
        session,
        data=NetworkCreate(
            name=fields.pop("name", "United Nations Network on Migration"),
            scope=scope,
            established_on=established_on,
            coordinator=CoordinatorIn(
                entity_id=coordinator_id, mandate_relevance="Migration is its mandate.", capacity="A secretariat."
            ),
            **fields,
        ),
        actor=SYSTEM,
    )
    await session.flush()
    return row


async def make_membership(
    session: AsyncSession,
    *,
    network_id: uuid.UUID,
    entity_id: uuid.UUID,
    tier: MembershipTier = MembershipTier.EXTENDED,
    start_date: date = date(2019, 1, 1),
    end_date: date | None = None,
) -> dict[str, Any]:
    statements = (
        {"mandate_relevance": "Its mandate.", "capacity": "Its capacity."} if tier == MembershipTier.CORE else {}
    )
    row = await create_membership(
        session,
        network_id=network_id,
        data=MembershipCreate(entity_id=entity_id, tier=tier, start_date=start_date, end_date=end_date, **statements),
        actor=SYSTEM,
    )
    await session.flush()
    return row
