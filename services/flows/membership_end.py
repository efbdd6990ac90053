"""Ending a membership: the membership, and the working-group posts the entity held through it."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.memberships import service as memberships
from services.memberships.schemas import MembershipEnd
from services.principals import Principal
from services.working_groups import service as working_groups


async def end_membership(
    session: AsyncSession,
    *,
    membership_id: uuid.UUID,
    data: MembershipEnd,
    expected_version: int | None,
    actor: Principal,
) -> dict[str, Any]:
    """End a membership on ``data.end_date`` (admins; the network's coordinator cannot end,
    409), and with it the entity's working-group posts in that network: ended that day, or
    withdrawn if they would start later. All in the caller's unit of work, so a refusal (the
    last chair of an active group: 409) ends nothing. Returns the membership's row.

    Every way of ending a membership (the API, a script, a test) comes through here."""
    membership = await memberships.close_membership(
        session, membership_id=membership_id, data=data, expected_version=expected_version, actor=actor
    )
    await working_groups.end_posts_for_membership(
        session, network_id=membership.network_id, entity_id=membership.entity_id, end_date=data.end_date, actor=actor
    )
    # The posts' events before the membership's: a consumer reading membership.ended finds the
    # entity's posts in the network already ended.
    return await memberships.record_membership_ended(session, membership=membership, actor=actor)
