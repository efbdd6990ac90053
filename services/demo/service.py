"""Loading the demo data set, idempotently: what exists is left as it is."""

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import add_months, clock
from services.demo import data
from services.demo.workplans import load_commitments
from services.entities.models import Entity, EntityKind
from services.entities.schemas import EntityCreate, Identifier
from services.entities.service import create_entity
from services.meetings.models import Meeting, MeetingKind, MeetingStatus
from services.meetings.schemas import AgendaItem, InviteeIn, MeetingCreate, MeetingHold
from services.meetings.service import create_meeting, hold_meeting
from services.memberships.models import Membership, MembershipTier
from services.memberships.schemas import MembershipCreate
from services.memberships.service import create_membership
from services.mous.models import Mou
from services.mous.schemas import AreaIn, MouCreate, MouRefresh, MouSign
from services.mous.service import create_mou, refresh_mou, sign_mou, submit_mou
from services.networks.models import Network, NetworkScope, PostRole
from services.networks.posts import appoint_post
from services.networks.schemas import CoordinatorIn, NetworkCreate, NetworkPostCreate
from services.networks.service import create_network
from services.people.models import Person
from services.people.schemas import FocalPointCreate, FocalPointEnd, PersonCreate
from services.people.service import appoint_focal_point, create_person, end_focal_point
from services.principals import SYSTEM_DEMO
from services.reviews.models import Review, ReviewPolicy
from services.reviews.schemas import (
    RecommendationCreate,
    RecommendationStatusChange,
    ReviewComplete,
    ReviewPolicyIn,
    ReviewStart,
)
from services.reviews.service import (
    add_recommendation,
    change_recommendation_status,
    complete_review,
    open_due_cycles,
    put_policy,
    start_review,
)
from services.working_groups.models import PostKind, WorkingGroup
from services.working_groups.schemas import PostCreate, WorkingGroupActivate, WorkingGroupCreate
from services.working_groups.service import activate_working_group, add_post, create_working_group


async def _entity(session: AsyncSession, acronym: str, name: str, kind: EntityKind) -> uuid.UUID:
    existing = await session.scalar(select(Entity.id).where(func.lower(Entity.acronym) == acronym.lower()))
    if existing is not None:
        return existing
    iati = data.IATI_IDENTIFIERS.get(acronym)
    identifiers = [Identifier(scheme="iati", value=iati)] if iati else []
    entity = EntityCreate(acronym=acronym, name=name, kind=kind, identifiers=identifiers)
    row = await create_entity(session, data=entity, actor=SYSTEM_DEMO, is_demo=True)
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
    for acronym, name, kind in (*data.STAKEHOLDERS, *data.WORKING_GROUP_STAKEHOLDERS):
        ids[acronym] = await _entity(session, acronym, name, EntityKind(kind))
    for acronym, name in data.REGIONAL_COMMISSIONS:
        ids[acronym] = await _entity(session, acronym, name, EntityKind.UN_SYSTEM)
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
            actor=SYSTEM_DEMO,
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
                actor=SYSTEM_DEMO,
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
                actor=SYSTEM_DEMO,
                is_demo=True,
            )
    framing = await _load_meetings(session, network_id, ids)
    await _load_working_groups(session, network_id, ids, framing)
    await _load_mous(session, network_id, ids)
    await _load_reviews(session, network_id, ids)
    await load_commitments(session, network_id, ids)
    await _load_regional_networks(session, network_id, ids)
    await _load_focal_points(session, network_id, ids)
    return True


async def _load_focal_points(session: AsyncSession, network_id: uuid.UUID, ids: dict[str, uuid.UUID]) -> None:
    """A few named focal points of IOM, UNHCR and ECLAC; one post has ended. Once."""
    if await session.scalar(select(Person.id).where(Person.is_demo).limit(1)) is not None:
        return
    for acronym, name, title, email, language, posts in data.FOCAL_POINTS:
        person = await create_person(
            session,
            data=PersonCreate(entity_id=ids[acronym], name=name, title=title, email=email, preferred_language=language),
            actor=SYSTEM_DEMO,
            is_demo=True,
        )
        for subject, start, end in posts:
            where = {"entity_id": ids[acronym]} if subject == "entity" else {"network_id": network_id}
            post = await appoint_focal_point(
                session,
                person_id=person["id"],
                data=FocalPointCreate(**where, start_date=start),
                actor=SYSTEM_DEMO,
                is_demo=True,
            )
            if end is not None:
                await end_focal_point(
                    session,
                    person_id=person["id"],
                    post_id=post["id"],
                    data=FocalPointEnd(end_date=end, reason="Reassigned"),
                    expected_version=None,
                    actor=SYSTEM_DEMO,
                )


async def _load_regional_networks(session: AsyncSession, parent_id: uuid.UUID, ids: dict[str, uuid.UUID]) -> None:
    """The regional networks, with their co-leads and co-secretariats."""
    for name, short_name, region, established, coordinators, secretariats in data.REGIONAL_NETWORKS:
        if await session.scalar(select(exists().where(Network.name == name))):
            continue
        first, *co_leads = coordinators
        row = await create_network(
            session,
            data=NetworkCreate(
                name=name,
                short_name=short_name,
                scope=NetworkScope.REGIONAL,
                parent_network_id=parent_id,
                region=region,
                established_on=established,
                description="Demo record.",
                coordinator=CoordinatorIn(
                    entity_id=ids[first],
                    mandate_relevance=data.COORDINATOR_RELEVANCE,
                    capacity=data.COORDINATOR_CAPACITY,
                ),
            ),
            actor=SYSTEM_DEMO,
            is_demo=True,
        )
        appointments = [(a, PostRole.COORDINATOR) for a in co_leads]
        appointments += [(a, PostRole.SECRETARIAT) for a in secretariats if a != first]
        for acronym in dict.fromkeys(a for a, _ in appointments):
            relevance, capacity = data.core_statements(acronym)
            await create_membership(
                session,
                network_id=row["id"],
                data=MembershipCreate(
                    entity_id=ids[acronym],
                    tier=MembershipTier.CORE,
                    start_date=established,
                    mandate_relevance=relevance,
                    capacity=capacity,
                    notes="Leads the regional network with IOM.",
                ),
                actor=SYSTEM_DEMO,
                is_demo=True,
            )
        for acronym, role in appointments:
            await appoint_post(
                session,
                network_id=row["id"],
                data=NetworkPostCreate(entity_id=ids[acronym], role=role, start_date=established),
                actor=SYSTEM_DEMO,
                is_demo=True,
            )


async def _meeting(session: AsyncSession, network_id: uuid.UUID, **fields: Any) -> uuid.UUID:
    existing = await session.scalar(
        select(Meeting.id).where(Meeting.network_id == network_id, Meeting.title == fields["title"], Meeting.is_demo)
    )
    if existing is not None:
        return existing
    row = await create_meeting(
        session, data=MeetingCreate(network_id=network_id, **fields), actor=SYSTEM_DEMO, is_demo=True
    )
    return row["id"]  # type: ignore[no-any-return]


async def _load_meetings(session: AsyncSession, network_id: uuid.UUID, ids: dict[str, uuid.UUID]) -> uuid.UUID:
    """The framing conference (held), last year's extended-membership meeting with other
    stakeholders (held) and the next one (scheduled, reminders pending)."""
    members = [InviteeIn(entity_id=ids[a]) for a, _ in data.EXECUTIVE_COMMITTEE]
    stakeholders = [InviteeIn(entity_id=ids[a]) for a, _, _ in data.STAKEHOLDERS]
    title, starts = data.FRAMING_CONFERENCE
    framing = await _meeting(
        session,
        network_id,
        kind=MeetingKind.FRAMING_CONFERENCE,
        title=title,
        starts_at=starts,
        ends_at=starts + timedelta(hours=8),
        time_zone="Europe/Zurich",
        location="Palais des Nations, Geneva",
        invitees=members + stakeholders,
        agenda=[AgendaItem(title="Working methods"), AgendaItem(title="Working groups")],
    )
    today = datetime.combine(clock.today(), time(8, 0), tzinfo=UTC)
    last_start = today - timedelta(days=data.LAST_EXTENDED_MEETING_DAYS_AGO)
    last = await _meeting(
        session,
        network_id,
        kind=MeetingKind.EXTENDED_MEMBERSHIP,
        title=f"Extended membership meeting, {last_start:%B %Y}",
        starts_at=last_start,
        ends_at=last_start + timedelta(hours=8),
        time_zone="Europe/Zurich",
        location="Palais des Nations, Geneva",
        online_url="https://meet.example.org/unnm-annual",
        invitees=members + stakeholders + [InviteeIn(name="Regional consultative process", email="rcp@example.org")],
    )
    next_start = today + timedelta(days=data.NEXT_EXTENDED_MEETING_IN_DAYS)
    await _meeting(
        session,
        network_id,
        kind=MeetingKind.EXTENDED_MEMBERSHIP,
        title=f"Extended membership meeting, {next_start:%B %Y}",
        starts_at=next_start,
        ends_at=next_start + timedelta(hours=8),
        time_zone="Europe/Zurich",
        location="Palais des Nations, Geneva",
        online_url="https://meet.example.org/unnm-annual",
        invitees=members + stakeholders,
        agenda=[
            AgendaItem(title="Opening"),
            AgendaItem(title="Report of the working groups"),
            AgendaItem(title="Work plan"),
        ],
    )
    for meeting_id, attended in ((framing, members + stakeholders), (last, members + stakeholders[:2])):
        status = await session.scalar(select(Meeting.status).where(Meeting.id == meeting_id))
        if status == MeetingStatus.SCHEDULED:
            await hold_meeting(
                session,
                meeting_id=meeting_id,
                data=MeetingHold(
                    minutes="Demo record.", attended_entity_ids=[i.entity_id for i in attended if i.entity_id]
                ),
                expected_version=None,
                actor=SYSTEM_DEMO,
            )
    return framing


async def _load_working_groups(
    session: AsyncSession, network_id: uuid.UUID, ids: dict[str, uuid.UUID], framing: uuid.UUID
) -> None:
    for slug, name, objectives, principles, targets, chairs, members, activated_on in data.WORKING_GROUPS:
        exists_already = await session.scalar(
            select(WorkingGroup.id).where(WorkingGroup.network_id == network_id, WorkingGroup.slug == slug)
        )
        if exists_already is not None:
            continue
        group = await create_working_group(
            session,
            data=WorkingGroupCreate(
                network_id=network_id,
                name=name,
                slug=slug,
                gcm_objectives=objectives,
                guiding_principles=principles,
                sdg_targets=targets,
                terms_of_reference="Demo record.",
                established_by_meeting_id=framing if activated_on is not None else None,
            ),
            actor=SYSTEM_DEMO,
            is_demo=True,
        )
        for kind, acronyms in ((PostKind.CHAIR, chairs), (PostKind.MEMBER, members)):
            for acronym in acronyms:
                await add_post(
                    session,
                    group_id=group["id"],
                    kind=kind,
                    data=PostCreate(entity_id=ids[acronym], start_date=data.WORKING_GROUP_CHAIRS_FROM),
                    actor=SYSTEM_DEMO,
                )
        if activated_on is not None:
            await activate_working_group(
                session,
                group_id=group["id"],
                data=WorkingGroupActivate(activated_on=activated_on),
                expected_version=None,
                actor=SYSTEM_DEMO,
            )


async def _load_mous(session: AsyncSession, network_id: uuid.UUID, ids: dict[str, uuid.UUID]) -> None:
    by_reference: dict[str, uuid.UUID] = {}
    for reference, title, parties, areas, effective, state in data.MOUS:
        existing = await session.scalar(select(Mou.id).where(Mou.reference_number == reference))
        if existing is not None:
            by_reference[reference] = existing
            continue
        mou = await create_mou(
            session,
            data=MouCreate(
                network_id=network_id,
                title=title,
                reference_number=reference,
                party_entity_ids=[ids[p] for p in parties],
                effective_date=effective,
                areas=[
                    AreaIn(
                        description=d,
                        gcm_objectives=o,
                        lead_entity_id=ids[lead],
                        supporting_entity_ids=[ids[x] for x in sup],
                    )
                    for d, o, lead, sup in areas
                ],
            ),
            actor=SYSTEM_DEMO,
            is_demo=True,
        )
        by_reference[reference] = mou["id"]
        if state == "active":
            await submit_mou(session, mou_id=mou["id"], expected_version=None, actor=SYSTEM_DEMO)
            for party in parties:
                await sign_mou(
                    session,
                    mou_id=mou["id"],
                    data=MouSign(
                        entity_id=ids[party],
                        signatory_name=f"Signatory for {party}",
                        signatory_title="Head of agency",
                        signed_on=min(effective, data.SIGNED_ON.replace(year=effective.year)),
                    ),
                    expected_version=None,
                    actor=SYSTEM_DEMO,
                )
    old_reference, new_reference, effective = data.REFRESH
    if await session.scalar(select(Mou.id).where(Mou.reference_number == new_reference)) is None:
        successor = await refresh_mou(
            session,
            mou_id=by_reference[old_reference],
            data=MouRefresh(reference_number=new_reference, effective_date=effective),
            actor=SYSTEM_DEMO,
        )
        await submit_mou(session, mou_id=successor["id"], expected_version=None, actor=SYSTEM_DEMO)


async def _load_reviews(session: AsyncSession, network_id: uuid.UUID, ids: dict[str, uuid.UUID]) -> None:
    """A review policy whose last cycle is completed with recommendations, and whose next
    cycle is open (scheduled), both opened by the scheduler's own rule."""
    if await session.scalar(select(ReviewPolicy.id).where(ReviewPolicy.network_id == network_id)) is not None:
        return
    today = clock.today()
    last_due = add_months(today, -data.LAST_REVIEW_DUE_MONTHS_AGO)
    await put_policy(
        session,
        network_id=network_id,
        data=ReviewPolicyIn(lead_entity_id=ids[data.REVIEW_LEAD], first_due_date=last_due),
        actor=SYSTEM_DEMO,
        expected_version=None,
    )
    await open_due_cycles(session, today=today)
    last = await session.scalar(select(Review.id).where(Review.network_id == network_id, Review.number == 1))
    assert last is not None
    started, completed = last_due - timedelta(days=60), last_due - timedelta(days=10)
    await start_review(
        session, review_id=last, data=ReviewStart(started_on=started), actor=SYSTEM_DEMO, expected_version=None
    )
    for text, owner, months, status, reason in data.RECOMMENDATIONS:
        item = await add_recommendation(
            session,
            review_id=last,
            data=RecommendationCreate(text=text, owner_entity_id=ids[owner], due_date=add_months(completed, months)),
            actor=SYSTEM_DEMO,
        )
        if status != "open":
            await change_recommendation_status(
                session,
                review_id=last,
                recommendation_id=item["id"],
                data=RecommendationStatusChange(
                    status=status, reason=reason, changed_on=completed + timedelta(days=30)
                ),
                actor=SYSTEM_DEMO,
                expected_version=None,
            )
    await complete_review(
        session,
        review_id=last,
        data=ReviewComplete(findings=data.REVIEW_FINDINGS, completed_on=completed),
        actor=SYSTEM_DEMO,
        expected_version=None,
    )
