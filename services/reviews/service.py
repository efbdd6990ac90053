"""Rules for effectiveness reviews (docs/DOMAIN.md, "Effectiveness reviews"): a policy per network;
cycles opened by the scheduler when due (exactly once, late rather than never); the
lifecycle scheduled → in_progress → completed with an indicator snapshot at each end; and
recommendations followed up until done or dropped."""

import uuid
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.policy import may_act_for_entity, require_admin, require_entity_editor
from services.clock import add_months, clock
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.events.service import append_events
from services.indicators.repository import indicators
from services.memberships.rules import require_member
from services.networks.models import Network
from services.principals import SYSTEM, Principal
from services.records import RowLoader, apply_patch, check_version, loaded_change, record_change, set_fields
from services.reviews import repository
from services.reviews.models import (
    NEXT_STATUS,
    OPEN_RECOMMENDATION,
    Recommendation,
    RecommendationStatus,
    Review,
    ReviewPolicy,
    ReviewReminder,
    ReviewStatus,
)
from services.reviews.schemas import (
    RecommendationCreate,
    RecommendationStatusChange,
    RecommendationUpdate,
    ReviewComplete,
    ReviewPolicyIn,
    ReviewStart,
)

# A sweep opens at most this many missed cycles of one policy; the next sweep goes on.
MAX_CYCLES_PER_SWEEP = 24


async def _record(
    session: AsyncSession, event: str, subject: ReviewPolicy | Review | Recommendation, actor: Principal, **details: Any
) -> dict[str, Any]:
    await session.flush()  # a new record gets its id
    load_row: RowLoader
    if isinstance(subject, ReviewPolicy):
        subject_type, load_row, subject_id = "review_policy", repository.get_policy_row_by_id, subject.id
    elif isinstance(subject, Review):
        subject_type, load_row, subject_id = "review", repository.get_review_row, subject.id
    else:
        subject_type, load_row, subject_id = "recommendation", repository.get_recommendation_row, subject.id
    return await record_change(
        session,
        event=event,
        subject_type=subject_type,
        subject_id=subject_id,
        network_id=subject.network_id,
        load_row=load_row,
        actor=actor,
        **details,
    )


# --- the policy ---------------------------------------------------------------------------


async def put_policy(
    session: AsyncSession,
    *,
    network_id: uuid.UUID,
    data: ReviewPolicyIn,
    actor: Principal,
    expected_version: int | None,
) -> tuple[dict[str, Any], bool]:
    """Create or replace a network's review policy; returns (policy, created)."""
    require_admin(actor, "set a network's review policy")
    network = await session.scalar(select(Network).where(Network.id == network_id).with_for_update())
    if network is None:
        raise NotFound("network-not-found", f"No network has id {network_id}.")
    await require_member(
        session, network_id=network_id, entity_id=data.lead_entity_id, on=clock.today(), role="review lead"
    )
    if data.first_due_date <= network.established_on:
        raise InvalidInput(
            "due-before-network",
            f"first_due_date must come after the network was established ({network.established_on}).",
        )
    policy = await session.scalar(select(ReviewPolicy).where(ReviewPolicy.network_id == network_id).with_for_update())
    if policy is None:
        if expected_version is not None:
            raise Conflict("no-review-policy", "This network has no review policy yet; send the PUT without If-Match.")
        policy = ReviewPolicy(network_id=network_id, next_due_date=data.first_due_date, **data.model_dump())
        session.add(policy)
        return await _record(session, "created", policy, actor), True
    check_version("review policy", policy.version, expected_version)
    last_due = await session.scalar(select(func.max(Review.due_date)).where(Review.network_id == network_id))
    if last_due is not None and data.first_due_date != policy.first_due_date:
        raise Conflict(
            "review-cycles-exist",
            f"Cycles already exist from {policy.first_due_date}; first_due_date cannot move. "
            "Change cadence_months to change when the next cycles fall due.",
        )
    # PUT replaces the policy: a field left out takes its default again.
    next_due = data.first_due_date if last_due is None else add_months(last_due, data.cadence_months)
    changes = set_fields(policy, {**data.model_dump(), "next_due_date": next_due})
    return await _record(session, "updated", policy, actor, changes=changes), False


# --- cycles -------------------------------------------------------------------------------


async def open_due_cycles(session: AsyncSession, *, today: date) -> int:
    """Open every cycle whose opening day (due date - lead time) has come, for each policy;
    a cycle missed while no scheduler ran is opened late, never skipped. Policies are locked
    (SKIP LOCKED) and their next due date moves in the same transaction, so two schedulers
    never open a cycle twice; the unique (network, due date) index is the backstop."""
    policies = (
        await session.execute(
            select(ReviewPolicy, Network.is_demo)
            .join(Network, Network.id == ReviewPolicy.network_id)
            .where(ReviewPolicy.next_due_date - ReviewPolicy.lead_time_days <= today)
            .order_by(ReviewPolicy.next_due_date)
            .with_for_update(of=ReviewPolicy, skip_locked=True)
        )
    ).all()
    opened: list[Review] = []
    last = await repository.last_cycles(session, {policy.network_id for policy, _ in policies})
    for policy, is_demo in policies:
        number, previous_due = last.get(policy.network_id, (0, None))
        for _ in range(MAX_CYCLES_PER_SWEEP):
            due = policy.next_due_date
            if due - timedelta(days=policy.lead_time_days) > today:
                break
            number += 1
            review = Review(
                network_id=policy.network_id,
                number=number,
                period_start=previous_due or add_months(due, -policy.cadence_months),
                due_date=due,
                lead_entity_id=policy.lead_entity_id,
                is_demo=is_demo,
            )
            session.add(review)
            policy.next_due_date = add_months(due, policy.cadence_months)
            opened.append(review)
            previous_due = due
    await _record_each(session, "scheduled", opened)
    return len(opened)


async def load_review_for_update(session: AsyncSession, review_id: uuid.UUID) -> Review:
    review = await session.scalar(select(Review).where(Review.id == review_id).with_for_update())
    if review is None:
        raise NotFound("review-not-found", f"No review has id {review_id}.")
    return review


def _day_not_in_future(day: date | None, field: str) -> date:
    today = clock.today()
    if day is not None and day > today:
        raise InvalidInput("date-in-future", f"{field} cannot be in the future (today is {today}).")
    return day or today


async def _snapshot(session: AsyncSession, network_id: uuid.UUID, on: date) -> dict[str, Any]:
    return await indicators(await session.connection(), network_id, as_of=on)


async def _review_to_move(
    session: AsyncSession, review_id: uuid.UUID, actor: Principal, expected_version: int | None, *, action: str
) -> Review:
    """The review, locked, once the caller may ``action`` it (its lead's focal point or the
    secretariat) and holds its current version."""
    review = await load_review_for_update(session, review_id)
    require_entity_editor(actor, review.lead_entity_id, f"{action} this review")
    check_version("review", review.version, expected_version)
    return review


async def start_review(
    session: AsyncSession, *, review_id: uuid.UUID, data: ReviewStart, actor: Principal, expected_version: int | None
) -> dict[str, Any]:
    review = await _review_to_move(session, review_id, actor, expected_version, action="start")
    if review.status != ReviewStatus.SCHEDULED:
        raise Conflict("review-not-scheduled", f"This review is {review.status}; only a scheduled review starts.")
    started_on = _day_not_in_future(data.started_on, "started_on")
    review.status, review.started_on = ReviewStatus.IN_PROGRESS, started_on
    review.start_snapshot = await _snapshot(session, review.network_id, started_on)
    return await _record(session, "started", review, actor)


async def complete_review(
    session: AsyncSession, *, review_id: uuid.UUID, data: ReviewComplete, actor: Principal, expected_version: int | None
) -> dict[str, Any]:
    review = await _review_to_move(session, review_id, actor, expected_version, action="complete")
    if review.status != ReviewStatus.IN_PROGRESS:
        raise Conflict("review-not-in-progress", f"This review is {review.status}; start it before you complete it.")
    completed_on = _day_not_in_future(data.completed_on, "completed_on")
    assert review.started_on is not None
    if completed_on < review.started_on:
        raise InvalidInput(
            "completed-before-started", f"completed_on cannot come before started_on ({review.started_on})."
        )
    review.status, review.completed_on, review.findings = ReviewStatus.COMPLETED, completed_on, data.findings
    review.end_snapshot = await _snapshot(session, review.network_id, completed_on)
    return await _record(session, "completed", review, actor)


# --- recommendations ----------------------------------------------------------------------


async def add_recommendation(
    session: AsyncSession, *, review_id: uuid.UUID, data: RecommendationCreate, actor: Principal
) -> dict[str, Any]:
    review = await load_review_for_update(session, review_id)
    require_entity_editor(actor, review.lead_entity_id, "make recommendations in this review")
    if review.status == ReviewStatus.SCHEDULED:
        raise Conflict("review-not-started", "Start the review before you record its recommendations.")
    await require_member(
        session,
        network_id=review.network_id,
        entity_id=data.owner_entity_id,
        on=clock.today(),
        role="recommendation owner",
    )
    assert review.started_on is not None
    if data.due_date < review.started_on:
        raise InvalidInput(
            "due-before-review", f"due_date cannot come before the review started ({review.started_on})."
        )
    recommendation = Recommendation(review_id=review.id, network_id=review.network_id, **data.model_dump())
    session.add(recommendation)
    return await _record(session, "created", recommendation, actor)


async def load_recommendation_for_update(
    session: AsyncSession, review_id: uuid.UUID, recommendation_id: uuid.UUID
) -> Recommendation:
    recommendation = await session.scalar(
        select(Recommendation)
        .where(Recommendation.id == recommendation_id, Recommendation.review_id == review_id)
        .with_for_update()
    )
    if recommendation is None:
        raise NotFound("recommendation-not-found", f"Review {review_id} has no recommendation {recommendation_id}.")
    return recommendation


async def update_recommendation(
    session: AsyncSession,
    *,
    review_id: uuid.UUID,
    recommendation_id: uuid.UUID,
    data: RecommendationUpdate,
    actor: Principal,
    expected_version: int | None,
) -> dict[str, Any]:
    review = await session.get(Review, review_id)
    if review is None:
        raise NotFound("review-not-found", f"No review has id {review_id}.")
    require_entity_editor(actor, review.lead_entity_id, "change this review's recommendations")
    recommendation = await load_recommendation_for_update(session, review_id, recommendation_id)
    check_version("recommendation", recommendation.version, expected_version)
    if recommendation.status not in OPEN_RECOMMENDATION:
        raise Conflict(
            "recommendation-closed", f"This recommendation is {recommendation.status}; it no longer changes."
        )
    if data.owner_entity_id is not None:
        await require_member(
            session,
            network_id=review.network_id,
            entity_id=data.owner_entity_id,
            on=clock.today(),
            role="recommendation owner",
        )
    changes = apply_patch(recommendation, data, required=frozenset({"text", "owner_entity_id", "due_date"}))
    if "due_date" in changes and recommendation.due_date >= clock.today():
        recommendation.overdue_since = None  # a new date: it can fall overdue again, and be reminded again
    return await _record(session, "updated", recommendation, actor, changes=changes)


async def change_recommendation_status(
    session: AsyncSession,
    *,
    review_id: uuid.UUID,
    recommendation_id: uuid.UUID,
    data: RecommendationStatusChange,
    actor: Principal,
    expected_version: int | None,
) -> dict[str, Any]:
    recommendation = await load_recommendation_for_update(session, review_id, recommendation_id)
    lead = await session.scalar(select(Review.lead_entity_id).where(Review.id == review_id))
    if not (may_act_for_entity(actor, recommendation.owner_entity_id) or may_act_for_entity(actor, lead)):
        raise Forbidden(
            "not-your-entity",
            "You may not follow up this recommendation: only the secretariat, or the focal point of the entity "
            "that owns it or leads the review, may.",
        )
    check_version("recommendation", recommendation.version, expected_version)
    allowed = NEXT_STATUS[recommendation.status]
    if data.status not in allowed:
        options = ", ".join(sorted(allowed)) or "nothing: it is closed"
        raise Conflict(
            "invalid-transition",
            f"A recommendation that is {recommendation.status} cannot become {data.status}; it can become {options}.",
        )
    if (data.status == RecommendationStatus.DROPPED) != (data.reason is not None):
        raise InvalidInput("reason-for-dropped-only", "Give a reason when you drop a recommendation, and only then.")
    changed_on = _day_not_in_future(data.changed_on, "changed_on")
    before = recommendation.status
    recommendation.status, recommendation.status_changed_on = data.status, changed_on
    recommendation.dropped_reason = data.reason
    return await _record(session, str(data.status), recommendation, actor, changes={"status": (before, data.status)})


# --- the calendar's part: reminders and overdue ----------------------------------------------


async def _claim_reminders(session: AsyncSession, due: list[tuple[uuid.UUID, date, int]]) -> set[uuid.UUID]:
    """Record the reminders in ``due``; the subjects of those no other sweep recorded first
    are this sweep's to remind, once each (a sweep that missed several offsets sends one)."""
    if not due:
        return set()
    claimed = await session.scalars(
        insert(ReviewReminder)
        .values([{"subject_id": s, "due_date": d, "offset_days": o} for s, d, o in due])
        .on_conflict_do_nothing()
        .returning(ReviewReminder.subject_id)
    )
    return set(claimed)


Followed = TypeVar("Followed", Review, Recommendation)


async def _record_each(
    session: AsyncSession,
    event: str,
    subjects: Sequence[Followed],
    details: Callable[[Followed], dict[str, Any]] = lambda _: {},
) -> None:
    """``_record`` for each of a batch of cycles (or of recommendations), by the system:
    flushed once and read back in one statement, whatever the batch's size."""
    if not subjects:
        return
    await session.flush()  # new cycles get their ids
    if isinstance(subjects[0], Review):
        subject_type, rows = "review", await repository.get_review_rows(session, [s.id for s in subjects])
    else:
        subject_type, rows = (
            "recommendation",
            await repository.get_recommendation_rows(session, [s.id for s in subjects]),
        )
    await append_events(
        session,
        [
            loaded_change(
                event=event,
                subject_type=subject_type,
                subject_id=subject.id,
                row=rows[subject.id],
                actor=SYSTEM,
                network_id=subject.network_id,
                **details(subject),
            )
            for subject in subjects
        ],
    )


async def _follow_up(
    session: AsyncSession, model: type[Followed], open_statuses: tuple[str, ...], today: date
) -> tuple[int, int]:
    offsets = (
        func.unnest(ReviewPolicy.reminder_offsets_days)
        .table_valued("offset_days")
        .render_derived(name="offsets")
        .lateral()
    )
    due = (
        await session.execute(
            select(model.id, model.due_date, offsets.c.offset_days)
            .join(ReviewPolicy, ReviewPolicy.network_id == model.network_id)
            .join(offsets, true())
            .where(
                model.status.in_(open_statuses),
                model.due_date >= today,
                model.due_date - offsets.c.offset_days <= today,
            )
        )
    ).all()
    claimed = await _claim_reminders(session, [(s, d, o) for s, d, o in due])
    reminded: list[Followed] = []
    if claimed:
        reminded = list(
            await session.scalars(select(model).where(model.id.in_(claimed)).order_by(model.id).with_for_update())
        )
    await _record_each(session, "reminder_due", reminded, lambda s: {"days_before": (s.due_date - today).days})
    lapsed = (
        await session.scalars(
            select(model)
            .where(model.status.in_(open_statuses), model.due_date < today, model.overdue_since.is_(None))
            .with_for_update(skip_locked=True)
        )
    ).all()
    for lapsed_one in lapsed:
        lapsed_one.overdue_since = today
    await _record_each(session, "overdue", lapsed, lambda _: {"changes": {"overdue_since": (None, today)}})
    return len(claimed), len(lapsed)


async def remind_and_mark_overdue(session: AsyncSession, *, today: date) -> dict[str, int]:
    """Reminders for open cycles and recommendations whose due date is within one of their
    network policy's offsets; ``overdue`` once for each whose due date passed unfinished."""
    cycles = await _follow_up(session, Review, (ReviewStatus.SCHEDULED, ReviewStatus.IN_PROGRESS), today)
    recommendations = await _follow_up(session, Recommendation, OPEN_RECOMMENDATION, today)
    return {"reminded": cycles[0] + recommendations[0], "overdue": cycles[1] + recommendations[1]}
