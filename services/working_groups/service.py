"""Rules for working groups (docs/DOMAIN.md, "Working groups")."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.policy import may_act_for_entity, require_admin
from services.clock import clock
from services.entities.models import Entity
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.events.service import append_event
from services.gcm.models import GuidingPrinciple
from services.memberships.repository import lock_pair
from services.memberships.rules import require_member
from services.networks.models import Network
from services.principals import Principal, Role
from services.records import apply_patch, check_version, patch_translations, record_change
from services.schemas import stored_translations
from services.working_groups import repository
from services.working_groups.models import (
    PostKind,
    WorkingGroup,
    WorkingGroupObjective,
    WorkingGroupPost,
    WorkingGroupPrinciple,
    WorkingGroupStatus,
)
from services.working_groups.schemas import (
    PostCreate,
    PostEnd,
    WorkingGroupActivate,
    WorkingGroupClose,
    WorkingGroupCreate,
    WorkingGroupUpdate,
)

LINKED_FIELDS = frozenset({"gcm_objectives", "guiding_principles"})
POST_NAMES = {PostKind.CHAIR: "chair", PostKind.MEMBER: "member"}


async def _group_row(session: AsyncSession, group_id: uuid.UUID) -> dict[str, Any] | None:
    return await repository.get_group_row(session, group_id, today=clock.today())


async def _record(
    session: AsyncSession, event: str, group: WorkingGroup, actor: Principal, **details: Any
) -> dict[str, Any]:
    return await record_change(
        session,
        event=event,
        subject_type="working_group",
        subject_id=group.id,
        network_id=group.network_id,
        load_row=_group_row,
        actor=actor,
        **details,
    )


async def load_group_for_update(session: AsyncSession, group_id: uuid.UUID) -> WorkingGroup:
    group = await session.scalar(select(WorkingGroup).where(WorkingGroup.id == group_id).with_for_update())
    if group is None:
        raise NotFound("working-group-not-found", f"No working group has id {group_id}.")
    return group


async def _set_links(
    session: AsyncSession, group_id: uuid.UUID, objectives: list[int] | None, principles: list[str] | None
) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    if objectives is not None:
        before = sorted(
            (
                await session.scalars(
                    select(WorkingGroupObjective.objective_number).where(
                        WorkingGroupObjective.working_group_id == group_id
                    )
                )
            ).all()
        )
        if before != sorted(objectives):
            await session.execute(
                delete(WorkingGroupObjective).where(WorkingGroupObjective.working_group_id == group_id)
            )
            session.add_all(WorkingGroupObjective(working_group_id=group_id, objective_number=n) for n in objectives)
            changes["gcm_objectives"] = (before, sorted(objectives))
    if principles is not None:
        known = set((await session.scalars(select(GuidingPrinciple.code))).all())
        unknown = sorted(set(principles) - known)
        if unknown:
            raise InvalidInput(
                "unknown-principle", f"Unknown guiding principle codes: {', '.join(unknown)}; see /v1/gcm/principles."
            )
        codes = sorted(
            (
                await session.scalars(
                    select(WorkingGroupPrinciple.principle_code).where(
                        WorkingGroupPrinciple.working_group_id == group_id
                    )
                )
            ).all()
        )
        if codes != sorted(principles):
            await session.execute(
                delete(WorkingGroupPrinciple).where(WorkingGroupPrinciple.working_group_id == group_id)
            )
            session.add_all(WorkingGroupPrinciple(working_group_id=group_id, principle_code=c) for c in principles)
            changes["guiding_principles"] = (codes, sorted(principles))
    return changes


async def _check_establishing_meeting(session: AsyncSession, network_id: uuid.UUID, meeting_id: uuid.UUID) -> None:
    meeting_network = await repository.meeting_network(session, meeting_id)
    if meeting_network is None:
        raise InvalidInput(
            "reference-not-found", f"established_by_meeting_id {meeting_id} is not a meeting of the registry."
        )
    if meeting_network != network_id:
        raise Conflict("meeting-of-another-network", "The establishing meeting belongs to another network.")


async def _check_slug_free(
    session: AsyncSession, network_id: uuid.UUID, slug: str, other_than: uuid.UUID | None = None
) -> None:
    query = select(WorkingGroup.id).where(WorkingGroup.network_id == network_id, WorkingGroup.slug == slug)
    existing = await session.scalar(query)
    if existing is not None and existing != other_than:
        raise Conflict("slug-taken", f"Another working group of this network already uses the slug {slug!r}.")


async def create_working_group(
    session: AsyncSession, *, data: WorkingGroupCreate, actor: Principal, is_demo: bool = False
) -> dict[str, Any]:
    """Propose a working group in a network."""
    require_admin(actor, "set up working groups")
    if await session.get(Network, data.network_id) is None:
        raise InvalidInput("reference-not-found", f"network_id {data.network_id} is not a network of the registry.")
    await _check_slug_free(session, data.network_id, data.slug)
    if data.secretariat_entity_id is not None:
        await require_member(
            session,
            network_id=data.network_id,
            entity_id=data.secretariat_entity_id,
            on=clock.today(),
            role="secretariat of a working group",
        )
    if data.established_by_meeting_id is not None:
        await _check_establishing_meeting(session, data.network_id, data.established_by_meeting_id)
    group = WorkingGroup(
        **data.model_dump(exclude=set(LINKED_FIELDS | {"sdg_targets", "translations"})),
        sdg_targets=data.sdg_targets or [],
        translations=stored_translations(data.translations),
        is_demo=is_demo,
    )
    session.add(group)
    await session.flush()
    await _set_links(session, group.id, data.gcm_objectives or [], data.guiding_principles or [])
    return await _record(session, "created", group, actor)


def _require_open(group: WorkingGroup) -> None:
    if group.status == WorkingGroupStatus.CLOSED:
        raise Conflict("working-group-closed", f"The working group closed on {group.closed_on}; it no longer changes.")


async def update_working_group(
    session: AsyncSession,
    *,
    group_id: uuid.UUID,
    data: WorkingGroupUpdate,
    expected_version: int | None,
    actor: Principal,
) -> dict[str, Any]:
    require_admin(actor, "change working groups")
    group = await load_group_for_update(session, group_id)
    check_version("working group", group.version, expected_version)
    _require_open(group)
    fields = data.model_fields_set
    if "slug" in fields and data.slug is not None:
        await _check_slug_free(session, group.network_id, data.slug, other_than=group_id)
    if "established_by_meeting_id" in fields and data.established_by_meeting_id is not None:
        await _check_establishing_meeting(session, group.network_id, data.established_by_meeting_id)
    if "secretariat_entity_id" in fields and data.secretariat_entity_id is not None:
        await require_member(
            session,
            network_id=group.network_id,
            entity_id=data.secretariat_entity_id,
            on=clock.today(),
            role="secretariat of a working group",
        )
    changes = apply_patch(
        group, data, required=frozenset({"name", "slug", "sdg_targets"}), skip=LINKED_FIELDS | {"translations"}
    )
    changes.update(patch_translations(group, data))
    linked = await _set_links(
        session,
        group_id,
        data.gcm_objectives if "gcm_objectives" in fields else None,
        data.guiding_principles if "guiding_principles" in fields else None,
    )
    if linked:
        group.updated_at = clock.now()
    return await _record(session, "updated", group, actor, changes=changes | linked)


async def activate_working_group(
    session: AsyncSession,
    *,
    group_id: uuid.UUID,
    data: WorkingGroupActivate,
    expected_version: int | None,
    actor: Principal,
) -> dict[str, Any]:
    """proposed → active; an active group has at least one current chair."""
    require_admin(actor, "activate working groups")
    group = await load_group_for_update(session, group_id)
    check_version("working group", group.version, expected_version)
    if group.status != WorkingGroupStatus.PROPOSED:
        raise Conflict(
            "invalid-transition", f"Only a proposed working group can be activated; this one is {group.status.value}."
        )
    activated_on = data.activated_on or clock.today()
    chairs = await session.scalar(
        select(func.count())
        .select_from(WorkingGroupPost)
        .where(
            WorkingGroupPost.working_group_id == group_id,
            WorkingGroupPost.kind == PostKind.CHAIR,
            repository.post_active_on(activated_on),
            WorkingGroupPost.end_date.is_(None),  # an active group keeps a chair with no end
        )
    )
    if not chairs:
        raise Conflict(
            "working-group-needs-chair",
            f"An active working group has a chair: appoint one (POST /v1/working-groups/{group_id}/chairs) holding the post on {activated_on} with no end date.",
        )
    group.status = WorkingGroupStatus.ACTIVE
    group.activated_on = activated_on
    return await _record(
        session,
        "activated",
        group,
        actor,
        changes={"status": ("proposed", "active"), "activated_on": (None, activated_on)},
    )


async def close_working_group(
    session: AsyncSession,
    *,
    group_id: uuid.UUID,
    data: WorkingGroupClose,
    expected_version: int | None,
    actor: Principal,
) -> dict[str, Any]:
    """Close a group with a reason; its open chair posts and seats end on the closing date."""
    require_admin(actor, "close working groups")
    group = await load_group_for_update(session, group_id)
    check_version("working group", group.version, expected_version)
    _require_open(group)
    if group.activated_on is not None and data.closed_on < group.activated_on:
        raise InvalidInput("invalid-period", f"closed_on is before the group was activated ({group.activated_on}).")
    previous = group.status.value
    posts = (
        await session.scalars(
            select(WorkingGroupPost).where(
                WorkingGroupPost.working_group_id == group_id,
                (WorkingGroupPost.end_date.is_(None)) | (WorkingGroupPost.end_date > data.closed_on),
            )
        )
    ).all()
    for post in posts:
        await _finish_post(session, group, post, data.closed_on, "working group closed", actor)
    group.status = WorkingGroupStatus.CLOSED
    group.closed_on = data.closed_on
    group.close_reason = data.reason
    return await _record(
        session,
        "closed",
        group,
        actor,
        changes={
            "status": (previous, "closed"),
            "closed_on": (None, data.closed_on),
            "close_reason": (None, data.reason),
        },
    )


async def _record_post(
    session: AsyncSession,
    event: str,
    group: WorkingGroup,
    post_id: uuid.UUID,
    actor: Principal,
    *,
    before: dict[str, Any] | None,
    after_row: dict[str, Any] | None,
) -> None:
    entity_id = (after_row or before or {}).get("entity", {}).get("id")
    await append_event(
        session,
        type=f"working_group.{event}",
        subject_type="working_group",
        subject_id=group.id,
        network_id=group.network_id,
        owner_entity_id=uuid.UUID(str(entity_id)) if entity_id else None,
        actor=actor,
        payload={"working_group_id": group.id, "post": after_row or before},
        before=before,
        after=after_row,
    )


async def _finish_post(
    session: AsyncSession, group: WorkingGroup, post: WorkingGroupPost, end_date: date, reason: str, actor: Principal
) -> None:
    """End a post on ``end_date``; a post that would not have started by then is withdrawn."""
    before = await repository.get_post_row(session, post.id)
    name = POST_NAMES[post.kind]
    if post.start_date > end_date:
        await session.delete(post)
        await session.flush()
        await _record_post(session, f"{name}_withdrawn", group, post.id, actor, before=before, after_row=None)
    else:
        post.end_date = end_date
        post.end_reason = reason
        await session.flush()
        await _record_post(
            session,
            f"{name}_ended",
            group,
            post.id,
            actor,
            before=before,
            after_row=await repository.get_post_row(session, post.id),
        )
    if post.kind == PostKind.CHAIR:
        group.updated_at = clock.now()  # the group's current chairs are part of it


async def _require_secretariat_or_chair(
    session: AsyncSession, actor: Principal, group_id: uuid.UUID, action: str
) -> None:
    """The secretariat, or the focal point of an entity chairing the group today."""
    if actor.is_admin:
        return
    if actor.role == Role.FOCAL_POINT and actor.entity_id in await repository.chair_entities_on(
        session, group_id=group_id, day=clock.today()
    ):
        return
    raise Forbidden(
        "not-the-chair",
        f"You may not {action}: only the secretariat or a focal point of the group's current chair may. "
        "Ask the chair or the secretariat.",
    )


async def _seat_holder(session: AsyncSession, group: WorkingGroup, kind: PostKind, data: PostCreate) -> Entity:
    """A chair, and a UN-system entity's seat, are the network's members' on the start date;
    a stakeholder (any other kind of entity) may hold a member's seat without being one."""
    if kind == PostKind.MEMBER:
        entity = await session.get(Entity, data.entity_id)
        if entity is not None and not entity.un_system:
            return entity
    return await require_member(
        session,
        network_id=group.network_id,
        entity_id=data.entity_id,
        on=data.start_date,
        role=f"{POST_NAMES[kind]} of a working group",
    )


async def add_post(
    session: AsyncSession, *, group_id: uuid.UUID, kind: PostKind, data: PostCreate, actor: Principal
) -> dict[str, Any]:
    """Appoint a chair (admins) or give a member a seat (admins, or a focal point of one of
    the group's current chairs: seats are given, not taken)."""
    if kind == PostKind.CHAIR:
        require_admin(actor, "appoint working group chairs")
    else:
        await _require_secretariat_or_chair(session, actor, group_id, "give seats in this working group")
    group = await load_group_for_update(session, group_id)
    _require_open(group)
    name = POST_NAMES[kind]
    entity = await _seat_holder(session, group, kind, data)
    await lock_pair(session, group_id, entity.id)
    existing = await repository.overlapping_post(
        session, group_id=group_id, kind=kind, entity_id=entity.id, start_date=data.start_date
    )
    if existing is not None:
        raise Conflict(
            f"{name}-post-overlap",
            f"{entity.acronym} already holds a {name} post in this group from {existing.start_date}"
            + (f" to {existing.end_date}" if existing.end_date else "")
            + "; end it first.",
        )
    post = WorkingGroupPost(working_group_id=group_id, kind=kind, entity_id=entity.id, start_date=data.start_date)
    session.add(post)
    await session.flush()
    row = await repository.get_post_row(session, post.id)
    assert row is not None
    if kind == PostKind.CHAIR:
        group.updated_at = clock.now()
    await _record_post(
        session,
        "chair_appointed" if kind == PostKind.CHAIR else "member_added",
        group,
        post.id,
        actor,
        before=None,
        after_row=row,
    )
    return row


async def _keep_a_chair(session: AsyncSession, group: WorkingGroup, post: WorkingGroupPost) -> None:
    """Refuse to end an active group's last open-ended chair post (the group row is locked)."""
    if group.status == WorkingGroupStatus.ACTIVE and not await repository.has_open_ended_chair(
        session, group_id=group.id, excluding=post.id
    ):
        raise Conflict(
            "last-chair",
            f"This is the last chair of the active group {group.name}; appoint another chair first, or close the group.",
        )


async def end_post(
    session: AsyncSession, *, group_id: uuid.UUID, post_id: uuid.UUID, kind: PostKind, data: PostEnd, actor: Principal
) -> dict[str, Any]:
    """End a chair post (admins) or a seat (admins, a current chair's focal point, or the
    member's own focal point: an entity may always leave)."""
    # The group first, then the post: the order every other write to a group's posts locks in
    # (the other order deadlocked against a concurrent close or appointment).
    group = await load_group_for_update(session, group_id)
    post = await session.scalar(
        select(WorkingGroupPost)
        .where(
            WorkingGroupPost.id == post_id, WorkingGroupPost.working_group_id == group_id, WorkingGroupPost.kind == kind
        )
        .with_for_update()
    )
    name = POST_NAMES[kind]
    if post is None:
        raise NotFound(f"{name}-post-not-found", f"This working group has no {name} post {post_id}.")
    if kind == PostKind.CHAIR:
        require_admin(actor, "end chair posts")
    elif not may_act_for_entity(actor, post.entity_id):
        await _require_secretariat_or_chair(session, actor, group_id, "end this seat")
    if post.end_date is not None:
        raise Conflict("post-already-ended", f"This {name} post already ended on {post.end_date}.")
    if data.end_date < post.start_date:
        raise InvalidInput(
            "invalid-period", f"end_date {data.end_date} is before the post's start_date {post.start_date}."
        )
    if kind == PostKind.CHAIR:
        await _keep_a_chair(session, group, post)
    await _finish_post(session, group, post, data.end_date, data.reason or "ended", actor)
    row = await repository.get_post_row(session, post.id)
    assert row is not None
    return row


async def end_posts_for_membership(
    session: AsyncSession, *, network_id: uuid.UUID, entity_id: uuid.UUID, end_date: date, actor: Principal
) -> int:
    """An entity leaving a network leaves its working groups on the same date: its posts there
    open after ``end_date`` end that day (or are withdrawn if they start later). Called by
    ``services.flows.membership_end``, in the transaction that ends the membership. Returns
    how many posts ended."""
    posts = await repository.open_posts_of_entity_in_network(
        session, network_id=network_id, entity_id=entity_id, after=end_date
    )
    for post in posts:
        group = await load_group_for_update(session, post.working_group_id)
        if post.kind == PostKind.CHAIR:
            await _keep_a_chair(session, group, post)
        await _finish_post(session, group, post, end_date, "network membership ended", actor)
    return len(posts)
