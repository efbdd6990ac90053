"""Queries on calendar subscriptions, and on the meetings a feed shows."""

import functools
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from services.api_keys.models import ApiKey
from services.auth.policy import owned_by, owned_by_bound
from services.calendars.models import CalendarSubscription, FeedScope
from services.calendars.schemas import SubscriptionOut
from services.meetings.models import Meeting
from services.networks.models import Network
from services.pagination import Page, PageRequest, fetch_page, keyset_page
from services.principals import Principal
from services.shapes import select_list
from services.working_groups.models import WorkingGroup

# A subscription as the API shows it (SubscriptionOut, in its order), and its version for the ETag.
SUBSCRIPTION_COLUMNS = select_list(SubscriptionOut, version=CalendarSubscription.version)


def visible_to(actor: Principal) -> Any:
    """Admins see every one; others their own and their entity's."""
    return owned_by(actor, CalendarSubscription.owner_principal_id, CalendarSubscription.owner_entity_id)


async def get_subscription_row(
    conn: AsyncConnection | AsyncSession, subscription_id: uuid.UUID, actor: Principal | None = None
) -> dict[str, Any] | None:
    """A subscription (one ``actor`` may see, when given)."""
    query = select(*SUBSCRIPTION_COLUMNS).where(CalendarSubscription.id == subscription_id)
    if actor is not None:
        query = query.where(visible_to(actor))
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


def subscriptions_query(actor: Principal, *, include_revoked: bool) -> Select[Any]:
    """Calendar subscriptions matching the list's filters, in id order: the list pages it, an export streams it."""
    query: Select[Any] = select(*SUBSCRIPTION_COLUMNS).where(visible_to(actor))
    if not include_revoked:
        query = query.where(CalendarSubscription.revoked_at.is_(None))
    return query.order_by(CalendarSubscription.id)


# The list's statements are built once for each kind of caller and filter, with bound
# parameters (as the entities' are): SQLAlchemy neither rebuilds them nor computes their cache
# key again.
@functools.cache
def _subscriptions_page(admin: bool, own_entity: bool, include_revoked: bool, after: bool) -> Select[Any]:
    visible = owned_by_bound(
        admin, own_entity, CalendarSubscription.owner_principal_id, CalendarSubscription.owner_entity_id
    )
    query: Select[Any] = select(*SUBSCRIPTION_COLUMNS).where(visible)
    if not include_revoked:
        query = query.where(CalendarSubscription.revoked_at.is_(None))
    return keyset_page(query, CalendarSubscription.id, after=after)


async def list_subscription_rows(
    conn: AsyncConnection, page: PageRequest, actor: Principal, *, include_revoked: bool
) -> Page:
    admin = actor.is_admin
    entity_id = None if admin else actor.entity_id
    statement = _subscriptions_page(admin, entity_id is not None, include_revoked, page.after is not None)
    return await fetch_page(conn, statement, page, actor_id=None if admin else actor.id, actor_entity_id=entity_id)


async def find_live_subscription(conn: AsyncConnection, token_hash: str, *, now: datetime) -> dict[str, Any] | None:
    """The subscription a feed token opens, while it and the key that made it are live."""
    query = (
        select(
            CalendarSubscription.id,
            CalendarSubscription.scope,
            CalendarSubscription.subject_id,
            CalendarSubscription.owner_role,
        )
        .outerjoin(ApiKey, ApiKey.id == CalendarSubscription.owner_api_key_id)
        .where(
            CalendarSubscription.token_hash == token_hash,
            CalendarSubscription.revoked_at.is_(None),
            or_(
                CalendarSubscription.owner_api_key_id.is_(None),
                ApiKey.revoked_at.is_(None) & (ApiKey.expires_at > now),
            ),
        )
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row is not None else None


def scope_condition(scope: FeedScope, subject_id: uuid.UUID) -> Any:
    """The meetings a feed of ``scope`` shows."""
    column = {
        FeedScope.NETWORK: Meeting.network_id,
        FeedScope.WORKING_GROUP: Meeting.working_group_id,
        FeedScope.MEETING: Meeting.id,
    }[scope]
    return column == subject_id


_Named = aliased(Meeting, name="named_meeting")
_NAMES = {
    FeedScope.NETWORK: (Network.name, Network.id),
    FeedScope.WORKING_GROUP: (WorkingGroup.name, WorkingGroup.id),
    FeedScope.MEETING: (_Named.title, _Named.id),
}


@dataclass(frozen=True)
class FeedState:
    """What a feed's body depends on, known without building it: its ETag and Last-Modified."""

    name: str
    etag: str
    last_modified: datetime | None


async def feed_state(conn: AsyncConnection, scope: FeedScope, subject_id: uuid.UUID) -> FeedState | None:
    """The feed's name and validators, in one round trip; ``None`` when its subject is gone."""
    name_column, id_column = _NAMES[scope]
    name = select(name_column).where(id_column == subject_id).correlate(None).scalar_subquery()
    versions = func.string_agg(
        func.concat(Meeting.id, literal_column("':'"), Meeting.version),
        aggregate_order_by(literal_column("','"), Meeting.id),
    )
    query = select(name.label("name"), versions.label("versions"), func.max(Meeting.updated_at).label("modified"))
    row = (await conn.execute(query.where(scope_condition(scope, subject_id)))).mappings().one()
    if row["name"] is None:
        return None
    return FeedState(name=row["name"], etag=_etag(row["name"], row["versions"] or ""), last_modified=row["modified"])


def _etag(name: str, versions: str) -> str:
    return '"' + hashlib.sha256(f"{name}\n{versions}".encode()).hexdigest()[:32] + '"'


def feed_etag(name: str, meetings: list[dict[str, Any]]) -> str:
    """The ETag of a feed built from ``meetings``: the one ``feed_state`` gives for them."""
    return _etag(name, ",".join(f"{m['id']}:{m['version']}" for m in sorted(meetings, key=lambda m: m["id"])))
