"""Loading the demo data set, idempotently: what exists is left as it is."""

import uuid

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.demo import data
from services.entities.models import Entity, EntityKind
from services.entities.schemas import EntityCreate
from services.entities.service import create_entity
from services.memberships.models import Membership, MembershipTier
from services.memberships.schemas import MembershipCreate
from services.memberships.service import create_membership
from services.networks.models import Network, NetworkScope
from services.networks.schemas import CoordinatorIn, NetworkCreate
from services.networks.service import create_network
from services.principals import SYSTEM


async def _entity(session: AsyncSession, acronym: str, name: str, kind: EntityKind) -> uuid.UUID:
    existing = await session.scalar(select(Entity.id).where(func.lower(Entity.acronym) == acronym.lower()))
    if existing is not None:
        return existing
    row = await create_entity(
        session, data=EntityCreate(acronym=acronym, name=name, kind=kind), actor=SYSTEM, is_demo=True
    )
    return row["id"]  # type: ignore[no-any-return]


async def _has_membership(session: AsyncSession, network_id: uuid.UUID, entity_id: uuid.UUID) -> bool:
    condition = (Membership.network_id == network_id) & (Membership.entity_id == entity_id)
    return bool(await session.scalar(select(exists().where(condition))))


async def load_demo_data(session: AsyncSession) -> bool:
    """Load the demo network and its members. Returns False when a global network already
    exists that is not the demo one (a real deployment): then nothing is touched."""
    global_network = await session.scalar(select(Network).where(Network.scope == NetworkScope.GLOBAL))
    if global_network is not None and not global_network.is_demo:
        return False
    ids = {
        acronym: await _entity(session, acronym, name, EntityKind.UN_SYSTEM)
        for acronym, name in data.EXECUTIVE_COMMITTEE
    }
    for acronym, name, *_ in data.EXTENDED_TIER:
        ids[acronym] = await _entity(session, acronym, name, EntityKind.UN_SYSTEM)
    for acronym, name, kind in data.STAKEHOLDERS:
        await _entity(session, acronym, name, EntityKind(kind))
    if global_network is None:
        row = await create_network(
            session,
            data=NetworkCreate(
                name="United Nations Network on Migration",
                short_name="UNNM",
                scope=NetworkScope.GLOBAL,
                established_on=data.NETWORK_ESTABLISHED,
                description=(
                    "Demo record. Ensures effective, timely and coordinated system-wide support to "
                    "Member States in implementing the Global Compact for Safe, Orderly and Regular Migration."
                ),
                coordinator=CoordinatorIn(
                    entity_id=ids["IOM"],
                    mandate_relevance=data.COORDINATOR_RELEVANCE,
                    capacity=data.COORDINATOR_CAPACITY,
                ),
            ),
            actor=SYSTEM,
            is_demo=True,
        )
        network_id: uuid.UUID = row["id"]
    else:
        network_id = global_network.id
    for acronym, _ in data.EXECUTIVE_COMMITTEE:
        if not await _has_membership(session, network_id, ids[acronym]):
            relevance, capacity = data.core_statements(acronym)
            await create_membership(
                session,
                network_id=network_id,
                data=MembershipCreate(
                    entity_id=ids[acronym],
                    tier=MembershipTier.CORE,
                    start_date=data.NETWORK_ESTABLISHED,
                    mandate_relevance=relevance,
                    capacity=capacity,
                    notes="Member of the Executive Committee.",
                ),
                actor=SYSTEM,
                is_demo=True,
            )
    for acronym, _, joined, left in data.EXTENDED_TIER:
        if not await _has_membership(session, network_id, ids[acronym]):
            await create_membership(
                session,
                network_id=network_id,
                data=MembershipCreate(
                    entity_id=ids[acronym], tier=MembershipTier.EXTENDED, start_date=joined, end_date=left
                ),
                actor=SYSTEM,
                is_demo=True,
            )
    return True
