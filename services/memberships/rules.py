"""Membership rules other domains apply: who counts as a member of a network on a day."""

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.entities.models import Entity
from services.errors import Conflict, InvalidInput
from services.memberships.models import Membership
from services.memberships.repository import active_on


async def require_member(
    session: AsyncSession, *, network_id: uuid.UUID, entity_id: uuid.UUID, on: date, role: str
) -> Entity:
    """A UN-system entity holding a membership of the network on ``on``; ``role`` names what
    it is to be (a chair, a review lead ...) in the refusal."""
    entity = await session.get(Entity, entity_id)
    if entity is None:
        raise InvalidInput("reference-not-found", f"entity_id {entity_id} is not an entity of the registry.")
    if not entity.un_system:
        raise Conflict("entity-not-un-system", f"{entity.acronym} is not a UN-system entity; a {role} is one.")
    member = await session.scalar(
        select(Membership.id).where(
            Membership.network_id == network_id, Membership.entity_id == entity_id, active_on(on)
        )
    )
    if member is None:
        raise Conflict(
            "not-a-network-member",
            f"{entity.acronym} is not a member of the network on {on}; a {role} is drawn from its members.",
        )
    return entity
