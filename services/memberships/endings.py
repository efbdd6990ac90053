"""What ending a membership ends in the domains above memberships.

An entity that leaves a network leaves its working groups on the same day, in the same
transaction. Working groups sit above memberships (a seat is drawn from the members), so they
register that consequence here instead of memberships importing them. A module registers its
consequence when it is imported; every process that ends memberships imports it (the API
through its routers), and a test that ends memberships imports it with the rules it checks."""

import uuid
from datetime import date
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.principals import Principal


class MembershipEnding(Protocol):
    async def __call__(
        self, session: AsyncSession, *, network_id: uuid.UUID, entity_id: uuid.UUID, end_date: date, actor: Principal
    ) -> object: ...


Ending = TypeVar("Ending", bound=MembershipEnding)

_registered: list[MembershipEnding] = []


def on_membership_end(consequence: Ending) -> Ending:
    """Register ``consequence``: awaited, in the order registered, in the transaction that
    ends an entity's membership of a network, before the membership's own event."""
    if consequence not in _registered:
        _registered.append(consequence)
    return consequence


def registered() -> tuple[MembershipEnding, ...]:
    """The consequences registered so far (for tests: which modules are wired)."""
    return tuple(_registered)


async def end_what_the_membership_held(
    session: AsyncSession, *, network_id: uuid.UUID, entity_id: uuid.UUID, end_date: date, actor: Principal
) -> None:
    """Run every registered consequence of the entity leaving the network on ``end_date``."""
    for consequence in _registered:
        await consequence(session, network_id=network_id, entity_id=entity_id, end_date=end_date, actor=actor)
