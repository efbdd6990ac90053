"""Rules for memberships (docs/DOMAIN.md, "Memberships and tiers")."""

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.policy import require_admin, require_entity_editor, restrict_fields
from services.entities.models import Entity
from services.errors import Conflict, InvalidInput, NotFound
from services.events.service import insert_recording_event, run_insert_recording_event
from services.ids import uuid7
from services.memberships import repository
from services.memberships.models import Membership, MembershipTier
from services.memberships.schemas import CORE_NEEDS, MembershipCreate, MembershipEnd, MembershipUpdate, TierChange
from services.principals import Principal
from services.records import apply_patch, check_version, flush_pending, record_change

# What a member's own focal point may change: how it states its relevance and capacity.
FOCAL_POINT_MEMBERSHIP_FIELDS = frozenset({"mandate_relevance", "capacity", "notes"})


async def _record(
    session: AsyncSession, event: str, membership: Membership, actor: Principal, **details: Any
) -> dict[str, Any]:
    return await record_change(
        session,
        event=event,
        subject_type="membership",
        subject_id=membership.id,
        network_id=membership.network_id,
        owner_entity_id=membership.entity_id,
        load_row=repository.get_membership_row,
        actor=actor,
        **details,
    )


def _check_core_statements(tier: MembershipTier, mandate_relevance: str | None, capacity: str | None) -> None:
    if tier == MembershipTier.CORE and not (mandate_relevance and capacity):
        raise InvalidInput("core-needs-relevance-and-capacity", f"{CORE_NEEDS.capitalize()}.")


def _check_period(start_date: date, end_date: date | None) -> None:
    if end_date is not None and end_date < start_date:
        raise InvalidInput(
            "invalid-period",
            f"end_date {end_date} is before start_date {start_date}; a membership ends on or after it starts.",
        )


def _overlap(acronym: str, other: Membership) -> Conflict:
    until = other.end_date.isoformat() if other.end_date else "open-ended"
    return Conflict(
        "membership-overlap",
        f"{acronym} already has a membership in this network ({other.tier.value}, {other.start_date} to {until}, "
        f"id {other.id}); an entity holds one membership at a time: change its tier or end it instead.",
        membership_id=str(other.id),
    )


async def _check_no_overlap(
    session: AsyncSession,
    *,
    network_id: uuid.UUID,
    entity: Entity,
    start_date: date,
    end_date: date | None,
    excluding: uuid.UUID | None = None,
) -> None:
    await repository.lock_pair(session, network_id, entity.id)
    other = await repository.overlapping_membership(
        session,
        network_id=network_id,
        entity_id=entity.id,
        start_date=start_date,
        end_date=end_date,
        excluding=excluding,
    )
    if other is not None:
        raise _overlap(entity.acronym, other)


async def load_membership_for_update(session: AsyncSession, membership_id: uuid.UUID) -> Membership:
    membership = await session.scalar(select(Membership).where(Membership.id == membership_id).with_for_update())
    if membership is None:
        raise NotFound("membership-not-found", f"No membership has id {membership_id}.")
    return membership


async def _require_no_post_after(session: AsyncSession, membership: Membership, day: date, what: str) -> None:
    """A coordinator or secretariat post must be held by a core member: refuse ``what`` while
    the entity holds one in the network that runs after ``day``."""
    post = await repository.post_running_after(
        session, network_id=membership.network_id, entity_id=membership.entity_id, day=day
    )
    if post is not None:
        role, until = post
        runs = f"until {until}" if until is not None else "with no end date"
        raise Conflict(
            "coordinator-must-remain-core",
            f"This entity holds a {role} post in the network {runs} and must stay a core member while it runs; "
            f"end its post (POST /v1/networks/{{network_id}}/posts/{{network_post_id}}/end) before {what}.",
        )


# A new membership with its event and audit entry, unless a period of the pair meets it: one
# statement, for an open-ended period or one with an end.
_INSERT_RECORDED = {
    open_ended: insert_recording_event(
        repository.insert_unless_overlapping(open_ended),
        record_key="membership",
        set_by_database=("entity", "end_reason", "previous_membership_id", "created_at", "updated_at", "version"),
    )
    for open_ended in (True, False)
}


async def create_membership(
    session: AsyncSession,
    *,
    network_id: uuid.UUID,
    data: MembershipCreate,
    actor: Principal,
    network_from_path: bool = False,
    is_demo: bool = False,
) -> dict[str, Any]:
    """Admit a UN-system entity to a network in a tier, from a date.

    Two statements: the network and the entity read (and the pair locked) at once, and the
    insert, which also finds an overlapping period, with its event and audit entry."""
    require_admin(actor, "admit members to a network")
    await flush_pending(session)
    admission = await repository.admit(session, network_id, data.entity_id)
    if not admission.network_found:
        if network_from_path:
            raise NotFound("network-not-found", f"No network has id {network_id}.")
        raise InvalidInput("reference-not-found", f"network_id {network_id} is not a network of the registry.")
    entity = admission.entity
    if entity is None:
        raise InvalidInput("reference-not-found", f"entity_id {data.entity_id} is not an entity of the registry.")
    if not entity["un_system"]:
        raise Conflict(
            "entity-not-un-system",
            f"{entity['acronym']} is a {entity['kind'].value.replace('_', ' ')} stakeholder; only UN-system entities "
            "are members of a network. Invite it to meetings as a stakeholder instead.",
        )
    _check_period(data.start_date, data.end_date)
    _check_core_statements(data.tier, data.mandate_relevance, data.capacity)
    membership_id = uuid7()
    values: dict[str, Any] = {
        "id": membership_id,
        "network_id": network_id,
        "entity_id": data.entity_id,
        "tier": data.tier,
        "start_date": data.start_date,
        "end_date": data.end_date,
        "mandate_relevance": data.mandate_relevance,
        "capacity": data.capacity,
        "notes": data.notes,
        "is_demo": is_demo,
    }
    row = await run_insert_recording_event(
        session,
        _INSERT_RECORDED[data.end_date is None],
        values,
        known={k: v for k, v in values.items() if k != "entity_id"},
        type="membership.created",
        subject_type="membership",
        subject_id=membership_id,
        network_id=network_id,
        owner_entity_id=data.entity_id,
        actor=actor,
    )
    if row is None:  # a period of the pair meets this one (locked, the pair stays so): which
        other = await repository.overlapping_membership(
            session, network_id=network_id, entity_id=data.entity_id, start_date=data.start_date, end_date=data.end_date
        )
        assert other is not None
        raise _overlap(entity["acronym"], other)
    return row


async def update_membership(
    session: AsyncSession,
    *,
    membership_id: uuid.UUID,
    data: MembershipUpdate,
    expected_version: int | None,
    actor: Principal,
) -> dict[str, Any]:
    """Edit a membership's statements, notes or start date (tier and end are actions)."""
    membership = await load_membership_for_update(session, membership_id)
    require_entity_editor(actor, membership.entity_id, "change this membership")
    fields = data.model_fields_set
    restrict_fields(actor, fields, focal_point_may_set=FOCAL_POINT_MEMBERSHIP_FIELDS, record="a membership")
    check_version("membership", membership.version, expected_version)
    relevance = data.mandate_relevance if "mandate_relevance" in fields else membership.mandate_relevance
    capacity = data.capacity if "capacity" in fields else membership.capacity
    _check_core_statements(membership.tier, relevance, capacity)
    if "start_date" in fields and data.start_date is not None and data.start_date != membership.start_date:
        _check_period(data.start_date, membership.end_date)
        entity = await session.get(Entity, membership.entity_id)
        assert entity is not None
        await _check_no_overlap(
            session,
            network_id=membership.network_id,
            entity=entity,
            start_date=data.start_date,
            end_date=membership.end_date,
            excluding=membership.id,
        )
    changes = apply_patch(membership, data, required=frozenset({"start_date"}))
    return await _record(session, "updated", membership, actor, changes=changes)


async def close_membership(
    session: AsyncSession,
    *,
    membership_id: uuid.UUID,
    data: MembershipEnd,
    expected_version: int | None,
    actor: Principal,
) -> Membership:
    """Check that a membership may end on ``data.end_date`` and set its last day and reason,
    the row locked; its event is not appended yet. This is the first half of ending a
    membership: call ``services.flows.membership_end.end_membership``, which closes it, ends
    what it held, then appends its event with ``record_membership_ended``. A coordinator's or
    secretariat's cannot end while its post runs."""
    require_admin(actor, "end memberships")
    membership = await load_membership_for_update(session, membership_id)
    check_version("membership", membership.version, expected_version)
    if membership.end_date is not None:
        raise Conflict("membership-already-ended", f"This membership already ended on {membership.end_date}.")
    _check_period(membership.start_date, data.end_date)
    await _require_no_post_after(session, membership, data.end_date, "ending its membership")
    membership.end_date = data.end_date
    membership.end_reason = data.reason
    return membership


async def record_membership_ended(session: AsyncSession, *, membership: Membership, actor: Principal) -> dict[str, Any]:
    """Append ``membership.ended`` for a membership ``close_membership`` closed, in the same
    transaction; returns the membership's row."""
    return await _record(session, "ended", membership, actor)


async def change_tier(
    session: AsyncSession, *, membership_id: uuid.UUID, data: TierChange, expected_version: int | None, actor: Principal
) -> dict[str, Any]:
    """Move a member to the other tier from a date: the current period ends the day before
    and a new one starts, pointing back at it. Returns the new membership."""
    require_admin(actor, "change a member's tier")
    current = await load_membership_for_update(session, membership_id)
    check_version("membership", current.version, expected_version)
    if current.end_date is not None:
        raise Conflict(
            "membership-ended",
            f"This membership ended on {current.end_date}; change the tier of the entity's current membership, or admit it again.",
        )
    if data.tier == current.tier:
        raise Conflict("tier-unchanged", f"The membership is already in the {current.tier.value} tier.")
    if data.effective_date <= current.start_date:
        raise Conflict(
            "tier-change-before-start",
            f"effective_date must be after the membership's start_date ({current.start_date}), so that both periods keep at least a day.",
        )
    if data.tier == MembershipTier.EXTENDED:
        await _require_no_post_after(
            session, current, data.effective_date - timedelta(days=1), "moving it to the extended tier"
        )
    _check_core_statements(data.tier, data.mandate_relevance, data.capacity)
    from_tier = current.tier
    current.end_date = data.effective_date - timedelta(days=1)
    current.end_reason = f"moved to the {data.tier.value} tier"
    await session.flush()  # the open period must close before the next one opens
    successor = Membership(
        network_id=current.network_id,
        entity_id=current.entity_id,
        tier=data.tier,
        start_date=data.effective_date,
        mandate_relevance=data.mandate_relevance,
        capacity=data.capacity,
        notes=data.notes if data.notes is not None else current.notes,
        previous_membership_id=current.id,
        is_demo=current.is_demo,
    )
    session.add(successor)
    await session.flush()
    return await _record(
        session,
        "tier_changed",
        successor,
        actor,
        previous=await repository.get_membership_row(session, current.id),
        from_tier=from_tier,
        to_tier=data.tier,
    )
