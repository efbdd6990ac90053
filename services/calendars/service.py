"""Rules for calendar subscriptions: anyone who may read meetings may subscribe; the secret
URL is shown once; its owner, its owner's entity's focal points or the secretariat revoke it."""

import hashlib
import secrets
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.calendars import repository
from services.calendars.models import CalendarSubscription, FeedScope
from services.calendars.schemas import SubscriptionCreate
from services.clock import clock
from services.errors import Conflict, InvalidInput, NotFound
from services.meetings.models import Meeting
from services.networks.models import Network
from services.principals import Principal
from services.records import record_change
from services.settings import get_settings
from services.working_groups.models import WorkingGroup

TOKEN_PREFIX = "mnrcal_"  # noqa: S105 - a public prefix, not a secret
_SUBJECTS = {FeedScope.NETWORK: Network, FeedScope.WORKING_GROUP: WorkingGroup, FeedScope.MEETING: Meeting}


def hash_token(token: str) -> str:
    """A token has 256 random bits, so a plain SHA-256 is a safe hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(token: str) -> str:
    return f"{get_settings().public_base_url}/v1/calendars/{token}.ics"


async def _record(
    session: AsyncSession, event: str, subscription: CalendarSubscription, actor: Principal, **details: Any
) -> dict[str, Any]:
    return await record_change(
        session,
        event=event,
        subject_type="calendar_subscription",
        subject_id=subscription.id,
        owner_entity_id=subscription.owner_entity_id,
        load_row=repository.get_subscription_row,
        actor=actor,
        **details,
    )


async def create_subscription(
    session: AsyncSession, *, data: SubscriptionCreate, actor: Principal
) -> tuple[dict[str, Any], str]:
    """Make a feed; returns it and its secret URL, which is shown this once."""
    if await session.get(_SUBJECTS[data.scope], data.subject_id) is None:
        raise InvalidInput(
            "reference-not-found",
            f"subject_id {data.subject_id} is not a {data.scope.value.replace('_', ' ')}.",
            fields=["subject_id"],
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    subscription = CalendarSubscription(
        name=data.name,
        scope=data.scope,
        subject_id=data.subject_id,
        token_hash=hash_token(token),
        token_prefix=token[: len(TOKEN_PREFIX) + 6],
        owner_principal_id=actor.id,
        owner_role=actor.role.value,
        owner_entity_id=actor.entity_id,
        owner_api_key_id=actor.api_key_id,
    )
    session.add(subscription)
    await session.flush()
    return await _record(session, "created", subscription, actor), feed_url(token)


async def revoke_subscription(session: AsyncSession, *, subscription_id: uuid.UUID, actor: Principal) -> dict[str, Any]:
    subscription = await session.scalar(
        select(CalendarSubscription)
        .where(CalendarSubscription.id == subscription_id, repository.visible_to(actor))
        .with_for_update()
    )
    if subscription is None:
        raise NotFound("calendar-subscription-not-found", f"No calendar subscription has id {subscription_id}.")
    if subscription.revoked_at is not None:
        raise Conflict(
            "calendar-subscription-revoked", f"This feed was already revoked at {subscription.revoked_at.isoformat()}."
        )
    subscription.revoked_at = clock.now()
    subscription.revoked_by = actor.id
    return await _record(
        session,
        "revoked",
        subscription,
        actor,
        changes={"revoked_at": (None, subscription.revoked_at), "revoked_by": (None, actor.id)},
    )
