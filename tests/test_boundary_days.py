"""Dated rules on the day a period ends: an end_date is the period's last day, so a post
ending on day D chairs D and no later day ([start, end + 1) in SQL)."""

import asyncio
from datetime import date

import pytest
from sqlalchemy import func, select

from services.database import get_database
from services.errors import Conflict
from services.flows.membership_end import end_membership
from services.memberships.schemas import MembershipEnd
from services.principals import SYSTEM
from services.working_groups.models import PostKind, WorkingGroup, WorkingGroupPost, WorkingGroupStatus
from services.working_groups.schemas import PostCreate, PostEnd, WorkingGroupActivate, WorkingGroupCreate
from services.working_groups.service import activate_working_group, add_post, create_working_group, end_post
from tests.factories import make_entity, make_membership, make_network

DAY = date(2024, 6, 30)


async def _active_group_with_two_chairs(session, suffix: str):
    network = await make_network(session)
    first = await make_entity(session, acronym=f"BD1{suffix}")
    second = await make_entity(session, acronym=f"BD2{suffix}")
    memberships = [
        await make_membership(session, network_id=network["id"], entity_id=entity["id"]) for entity in (first, second)
    ]
    group = await create_working_group(
        session,
        data=WorkingGroupCreate(network_id=network["id"], name=f"B{suffix}", slug=f"b{suffix.lower()}"),
        actor=SYSTEM,
    )
    chairs = [
        await add_post(
            session,
            group_id=group["id"],
            kind=PostKind.CHAIR,
            data=PostCreate(entity_id=entity["id"], start_date=date(2020, 1, 1)),
            actor=SYSTEM,
        )
        for entity in (first, second)
    ]
    await activate_working_group(
        session,
        group_id=group["id"],
        data=WorkingGroupActivate(activated_on=date(2020, 2, 1)),
        expected_version=None,
        actor=SYSTEM,
    )
    return group, chairs, memberships


async def _end_chair(session, group, chair, day):
    return await end_post(
        session,
        group_id=group["id"],
        post_id=chair["id"],
        kind=PostKind.CHAIR,
        data=PostEnd(end_date=day),
        actor=SYSTEM,
    )


@pytest.mark.parametrize("second_day", [DAY, date(2024, 7, 1)], ids=["same-day", "next-day"])
async def test_ending_both_chairs_one_after_the_other_keeps_one(session, second_day):
    group, (first, second), _ = await _active_group_with_two_chairs(session, "S")
    assert (await _end_chair(session, group, first, DAY))["end_date"] == DAY
    with pytest.raises(Conflict) as refused:
        await _end_chair(session, group, second, second_day)
    assert refused.value.kind == "last-chair"


async def test_a_chair_whose_end_is_set_does_not_keep_the_group_chaired(session):
    """B's post already ends on a later day; ending A's would leave the group chairless after B's."""
    group, (first, second), _ = await _active_group_with_two_chairs(session, "L")
    await _end_chair(session, group, second, date(2024, 12, 31))
    with pytest.raises(Conflict) as refused:
        await _end_chair(session, group, first, DAY)
    assert refused.value.kind == "last-chair"


async def test_ending_the_last_chairs_membership_is_refused(session):
    group, (first, _), memberships = await _active_group_with_two_chairs(session, "M")
    await _end_chair(session, group, first, DAY)
    with pytest.raises(Conflict) as refused:
        await end_membership(
            session,
            membership_id=memberships[1]["id"],
            data=MembershipEnd(end_date=DAY),
            expected_version=None,
            actor=SYSTEM,
        )
    assert refused.value.kind == "last-chair"
    # with another chair appointed, the membership (and its chair post) may end
    await end_membership(
        session,
        membership_id=memberships[0]["id"],
        data=MembershipEnd(end_date=DAY),
        expected_version=None,
        actor=SYSTEM,
    )


async def test_activation_needs_a_chair_with_no_end(session):
    network = await make_network(session)
    entity = await make_entity(session, acronym="BDACT")
    await make_membership(session, network_id=network["id"], entity_id=entity["id"])
    group = await create_working_group(
        session, data=WorkingGroupCreate(network_id=network["id"], name="Act", slug="act"), actor=SYSTEM
    )
    chair = await add_post(
        session,
        group_id=group["id"],
        kind=PostKind.CHAIR,
        data=PostCreate(entity_id=entity["id"], start_date=date(2020, 1, 1)),
        actor=SYSTEM,
    )
    await _end_chair(session, group, chair, DAY)
    with pytest.raises(Conflict) as refused:
        await activate_working_group(
            session,
            group_id=group["id"],
            data=WorkingGroupActivate(activated_on=date(2021, 1, 1)),
            expected_version=None,
            actor=SYSTEM,
        )
    assert refused.value.kind == "working-group-needs-chair"


async def test_ending_both_chairs_concurrently_keeps_one(committed):
    database = get_database()
    async with database.session() as session:
        group, chairs, _ = await _active_group_with_two_chairs(session, "C")

    async def end(chair):
        async with database.session() as session:
            return await _end_chair(session, group, chair, DAY)

    outcomes = await asyncio.gather(*(end(chair) for chair in chairs), return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(refused) == 1 and refused[0].kind == "last-chair", outcomes
    async with database.read() as conn:
        open_chairs = await conn.scalar(
            select(func.count())
            .select_from(WorkingGroupPost)
            .where(WorkingGroupPost.working_group_id == group["id"], WorkingGroupPost.end_date.is_(None))
        )
        status = await conn.scalar(select(WorkingGroup.status).where(WorkingGroup.id == group["id"]))
    assert open_chairs == 1 and status == WorkingGroupStatus.ACTIVE


async def test_the_last_chair_over_http_on_the_same_day(client, session):
    group, (first, second), _ = await _active_group_with_two_chairs(session, "H")
    base = f"/v1/working-groups/{group['id']}/chairs"
    ended = await client.post(f"{base}/{first['id']}/end", json={"end_date": DAY.isoformat()})
    assert ended.status_code == 200
    last = await client.post(f"{base}/{second['id']}/end", json={"end_date": DAY.isoformat()})
    assert last.status_code == 409 and last.json()["type"] == "/problems/last-chair"
