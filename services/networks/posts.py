"""Who leads a network, and when: its coordinator and secretariat posts (docs/DOMAIN.md,
"Network leadership"). Every rule that asks "the coordinator" asks these posts on a day."""

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import clock
from services.entities.models import Entity
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.events.service import append_event
from services.memberships import repository as membership_repository
from services.networks import repository
from services.networks.models import Network, NetworkPost, NetworkScope, PostRole
from services.networks.schemas import NetworkPostCreate, NetworkPostEnd
from services.principals import Principal, Role
from services.records import check_version

_ONLY_LEADS = (
    "only the secretariat (admin role) or a focal point of an entity holding one of the network's "
    "coordinator or secretariat posts today may."
)
NOT_A_LEAD = ("not-a-network-lead", f"You may not do this: {_ONLY_LEADS}")


async def is_network_lead(
    conn: AsyncConnection | AsyncSession, actor: Principal, network_id: uuid.UUID, *, day: date
) -> bool:
    """Admins; or a focal point of an entity holding a coordinator or secretariat post of
    the network on ``day`` (co-leads alike)."""
    if actor.is_admin:
        return True
    return (
        actor.role == Role.FOCAL_POINT
        and actor.entity_id is not None
        and actor.entity_id in await repository.leads_on(conn, network_id=network_id, day=day)
    )


async def require_network_lead(
    conn: AsyncConnection | AsyncSession, actor: Principal, network_id: uuid.UUID, action: str
) -> None:
    """Refuse (403) a caller who does not lead the network today, for ``action``."""
    if not await is_network_lead(conn, actor, network_id, day=clock.today()):
        raise Forbidden(NOT_A_LEAD[0], f"You may not {action}: {_ONLY_LEADS}")


async def _record_post(
    session: AsyncSession, event: str, post: NetworkPost, actor: Principal, *, before: dict[str, Any] | None = None
) -> dict[str, Any]:
    await session.flush()
    row = await repository.get_post_row(session, post.id)
    assert row is not None
    await append_event(
        session,
        type=f"network.{event}",
        subject_type="network",
        subject_id=post.network_id,
        network_id=post.network_id,
        owner_entity_id=post.entity_id,
        actor=actor,
        payload={"network_id": post.network_id, "post": row},
        before=before,
        after=row,
    )
    return row


async def _load_network_for_update(session: AsyncSession, network_id: uuid.UUID) -> Network:
    network = await session.scalar(select(Network).where(Network.id == network_id).with_for_update())
    if network is None:
        raise NotFound("network-not-found", f"No network has id {network_id}.")
    return network


async def _require_core_holder(session: AsyncSession, network: Network, entity_id: uuid.UUID, start: date) -> Entity:
    entity = await session.get(Entity, entity_id)
    if entity is None:
        raise InvalidInput("reference-not-found", f"entity_id {entity_id} is not an entity of the registry.")
    if not entity.un_system:
        raise Conflict(
            "entity-not-un-system", f"{entity.acronym} is not a UN-system entity; a network's posts are held by one."
        )
    core = await membership_repository.current_core_membership(
        session, network_id=network.id, entity_id=entity_id, today=start
    )
    if core is None:
        raise Conflict(
            "coordinator-not-core",
            f"{entity.acronym} must be a core member of the network on {start} with no end date to hold its "
            "coordinator or secretariat post; admit it to the core tier (or move it there) first.",
        )
    return entity


def _describe(post: NetworkPost) -> str:
    until = f"to {post.end_date}" if post.end_date is not None else "with no end date"
    return f"{post.role.value} post {post.id} (from {post.start_date} {until})"


async def _end(session: AsyncSession, post: NetworkPost, end_date: date, reason: str, actor: Principal) -> None:
    before = await repository.get_post_row(session, post.id)
    post.end_date = end_date
    post.end_reason = reason
    await _record_post(session, "post_ended", post, actor, before=before)


def _check_global_single_lead(network: Network, others: list[NetworkPost], entity: Entity, start: date) -> None:
    """The global Network has one coordinator, which is also its secretariat: no co-leads."""
    if network.scope != NetworkScope.GLOBAL:
        return
    for other in others:
        if other.entity_id != entity.id and repository.overlaps(other, start, None):
            raise Conflict(
                "global-network-single-lead",
                f"The global Network has one coordinator, which is also its secretariat; {_describe(other)} runs "
                f"on or after {start}. Hand over with replaces_post_id instead of adding a co-lead.",
            )


async def _carry_the_other_post(
    session: AsyncSession,
    network: Network,
    role: PostRole,
    entity: Entity,
    start: date,
    actor: Principal,
    *,
    is_demo: bool,
) -> None:
    """The global Network's coordinator is also its secretariat: a handover of either of its
    posts hands over the other from the same day (the other post's holder ends the day before),
    so the two never name different entities."""
    if network.scope != NetworkScope.GLOBAL:
        return
    other_role = PostRole.SECRETARIAT if role == PostRole.COORDINATOR else PostRole.COORDINATOR
    running = [
        p
        for p in await repository.posts_of_role(session, network_id=network.id, role=other_role)
        if repository.overlaps(p, start, None)
    ]
    for post in running:
        if post.entity_id == entity.id:
            continue
        if post.start_date >= start:
            raise Conflict(
                "invalid-handover",
                f"The global Network's {_describe(post)} starts on or after {start}; its coordinator is also its "
                f"secretariat, so both posts are handed over together from a day after both started.",
            )
        await _end(session, post, start - timedelta(days=1), f"handed over to {entity.acronym}", actor)
    if not any(p.entity_id == entity.id for p in running):
        carried = NetworkPost(
            network_id=network.id, role=other_role, entity_id=entity.id, start_date=start, is_demo=is_demo
        )
        session.add(carried)
        await _record_post(session, "post_appointed", carried, actor)


async def appoint_post(
    session: AsyncSession,
    *,
    network_id: uuid.UUID,
    data: NetworkPostCreate,
    actor: Principal,
    is_demo: bool = False,
) -> dict[str, Any]:
    """Appoint an entity to a coordinator or secretariat post from ``data.start_date``
    (admins, or a focal point of a current lead). Its holder must be an open-ended core
    member; ``replaces_post_id`` ends that post the day before (a handover)."""
    await require_network_lead(session, actor, network_id, "appoint the network's coordinators or secretariats")
    network = await _load_network_for_update(session, network_id)
    entity = await _require_core_holder(session, network, data.entity_id, data.start_date)
    others = await repository.posts_of_role(session, network_id=network_id, role=data.role)
    if data.replaces_post_id is not None:
        replaced = next((p for p in others if p.id == data.replaces_post_id), None)
        if replaced is None:
            raise InvalidInput(
                "reference-not-found",
                f"replaces_post_id {data.replaces_post_id} is not a {data.role.value} post of this network.",
            )
        last_day = data.start_date - timedelta(days=1)
        if not repository.overlaps(replaced, data.start_date, None) or last_day < replaced.start_date:
            raise Conflict(
                "invalid-handover",
                f"The replaced {_describe(replaced)} must have started before {data.start_date} and still run on it.",
            )
        await _end(session, replaced, last_day, f"handed over to {entity.acronym}", actor)
    for other in others:
        if other.entity_id == entity.id and repository.overlaps(other, data.start_date, None):
            raise Conflict(
                "post-overlap", f"{entity.acronym} already holds the {_describe(other)}; it holds one at a time."
            )
    _check_global_single_lead(network, others, entity, data.start_date)
    post = NetworkPost(
        network_id=network_id, role=data.role, entity_id=entity.id, start_date=data.start_date, is_demo=is_demo
    )
    session.add(post)
    network.updated_at = clock.now()  # the network shows its current posts
    row = await _record_post(session, "post_appointed", post, actor)
    if data.replaces_post_id is not None:
        await _carry_the_other_post(session, network, data.role, entity, data.start_date, actor, is_demo=is_demo)
    return row


async def _keep_a_holder(session: AsyncSession, post: NetworkPost, end_date: date) -> None:
    """A network always has a coordinator and a secretariat: another open-ended post of the
    role must run from the day after ``end_date``."""
    others = await repository.posts_of_role(session, network_id=post.network_id, role=post.role)
    day_after = end_date + timedelta(days=1)
    if not any(o.id != post.id and o.end_date is None and o.start_date <= day_after for o in others):
        raise Conflict(
            f"last-{post.role.value}",
            f"This is the network's last {post.role.value} post from {day_after}: appoint another "
            f"{post.role.value} (or hand over with replaces_post_id) before ending it.",
        )


async def end_post(
    session: AsyncSession,
    *,
    network_id: uuid.UUID,
    post_id: uuid.UUID,
    data: NetworkPostEnd,
    expected_version: int | None,
    actor: Principal,
) -> dict[str, Any]:
    """End a post on ``data.end_date`` (its last day): admins, or a focal point of a current
    lead. The network's last coordinator (or secretariat) cannot end."""
    await require_network_lead(session, actor, network_id, "end the network's coordinator or secretariat posts")
    network = await _load_network_for_update(session, network_id)
    post = await session.scalar(
        select(NetworkPost).where(NetworkPost.id == post_id, NetworkPost.network_id == network_id).with_for_update()
    )
    if post is None:
        raise NotFound("network-post-not-found", f"This network has no post {post_id}.")
    check_version("post", post.version, expected_version)
    if post.end_date is not None:
        raise Conflict("post-already-ended", f"This {post.role.value} post already ended on {post.end_date}.")
    if data.end_date < post.start_date:
        raise InvalidInput(
            "invalid-period", f"end_date {data.end_date} is before the post's start_date {post.start_date}."
        )
    await _keep_a_holder(session, post, data.end_date)
    await _end(session, post, data.end_date, data.reason or "ended", actor)
    network.updated_at = clock.now()
    row = await repository.get_post_row(session, post.id)
    assert row is not None
    return row


async def open_first_posts(
    session: AsyncSession, *, network: Network, entity_id: uuid.UUID, is_demo: bool
) -> list[NetworkPost]:
    """A new network's coordinator holds both posts from the day it is established; their
    events follow the network's (``record_first_posts``), so the network is recorded first."""
    first = [
        NetworkPost(
            network_id=network.id, role=role, entity_id=entity_id, start_date=network.established_on, is_demo=is_demo
        )
        for role in PostRole
    ]
    session.add_all(first)
    await session.flush()
    return first


async def record_first_posts(session: AsyncSession, first: list[NetworkPost], actor: Principal) -> None:
    for post in first:
        await _record_post(session, "post_appointed", post, actor)


async def hand_over(session: AsyncSession, *, network: Network, entity_id: uuid.UUID, actor: Principal) -> bool:
    """What setting the deprecated ``coordinator_entity_id`` does: from today the entity holds
    a coordinator and a secretariat post, and every other post running today ends yesterday
    (or today, if it started today). Returns whether anything changed."""
    today = clock.today()
    entity = await _require_core_holder(session, network, entity_id, today)
    changed = False
    for role in PostRole:
        posts = await repository.posts_of_role(session, network_id=network.id, role=role)
        current = [p for p in posts if repository.overlaps(p, today, today)]
        for post in current:
            if post.entity_id != entity.id:
                await _end(session, post, max(post.start_date, today - timedelta(days=1)), "handed over", actor)
                changed = True
        if not any(p.entity_id == entity.id for p in current):
            post = NetworkPost(network_id=network.id, role=role, entity_id=entity.id, start_date=today)
            session.add(post)
            await _record_post(session, "post_appointed", post, actor)
            changed = True
    return changed
