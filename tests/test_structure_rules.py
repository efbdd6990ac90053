"""Working group and MoU rules at the service level (each is also tested through HTTP in
test_working_groups.py and test_mous.py)."""

from datetime import date

import pytest

from services.entities.models import EntityKind
from services.errors import Conflict, Forbidden
from services.mous.schemas import MouRefresh, MouSign, MouTerminate, MouUpdate
from services.mous.service import refresh_mou, sign_mou, submit_mou, terminate_mou, update_mou
from services.principals import SYSTEM, Principal, Role
from services.working_groups.models import PostKind
from services.working_groups.schemas import (
    PostCreate,
    PostEnd,
    WorkingGroupActivate,
    WorkingGroupClose,
    WorkingGroupCreate,
)
from services.working_groups.service import (
    activate_working_group,
    add_post,
    close_working_group,
    create_working_group,
    end_post,
)
from tests.factories import make_entity, make_membership, make_network
from tests.mou_helpers import make_mou


@pytest.fixture
async def world(session):
    network = await make_network(session)
    member = await make_entity(session, acronym="S-MEM")
    other = await make_entity(session, acronym="S-OTH")
    outsider = await make_entity(session, acronym="S-OUT")
    ngo = await make_entity(session, acronym="S-NGO", kind=EntityKind.CIVIL_SOCIETY)
    for entity in (member, other):
        await make_membership(session, network_id=network["id"], entity_id=entity["id"])
    group = await create_working_group(
        session, data=WorkingGroupCreate(network_id=network["id"], name="G", slug="g"), actor=SYSTEM
    )
    return network, member, other, outsider, ngo, group


def _post(entity, start=date(2020, 1, 1)):
    return PostCreate(entity_id=entity["id"], start_date=start)


async def test_chairs_are_un_system_members_and_seats_members_or_stakeholders(session, world):
    """A UN-system entity chairs or sits only as a member of the network; a stakeholder (civil
    society here) may sit without being one, and never chairs."""
    _, _, _, outsider, ngo, group = world
    refusals = (
        (outsider, PostKind.CHAIR, "not-a-network-member"),
        (outsider, PostKind.MEMBER, "not-a-network-member"),
        (ngo, PostKind.CHAIR, "entity-not-un-system"),
    )
    for entity, post, kind in refusals:
        with pytest.raises(Conflict) as refused:
            await add_post(session, group_id=group["id"], kind=post, data=_post(entity), actor=SYSTEM)
        assert refused.value.kind == kind
    seat = await add_post(session, group_id=group["id"], kind=PostKind.MEMBER, data=_post(ngo), actor=SYSTEM)
    assert seat["seat_type"] == "stakeholder"


async def test_a_focal_point_may_leave_its_seat_but_not_take_one(session, world):
    """Seats are given (by the secretariat or a chair), not taken; an entity may leave."""
    _, member, other, _, _, group = world
    focal = Principal(id="key:x", role=Role.FOCAL_POINT, entity_id=member["id"])
    with pytest.raises(Forbidden):
        await add_post(session, group_id=group["id"], kind=PostKind.MEMBER, data=_post(member), actor=focal)
    with pytest.raises(Forbidden):
        await add_post(session, group_id=group["id"], kind=PostKind.CHAIR, data=_post(member), actor=focal)
    seat = await add_post(session, group_id=group["id"], kind=PostKind.MEMBER, data=_post(member), actor=SYSTEM)
    others = await add_post(session, group_id=group["id"], kind=PostKind.MEMBER, data=_post(other), actor=SYSTEM)
    leave = PostEnd(end_date=date(2021, 1, 1))
    with pytest.raises(Forbidden):
        await end_post(
            session, group_id=group["id"], post_id=others["id"], kind=PostKind.MEMBER, data=leave, actor=focal
        )
    ended = await end_post(
        session, group_id=group["id"], post_id=seat["id"], kind=PostKind.MEMBER, data=leave, actor=focal
    )
    assert ended["end_date"] == date(2021, 1, 1)


async def test_the_last_chair_of_an_active_group_stays_until_replaced(session, world):
    _, member, other, _, _, group = world
    chair = await add_post(session, group_id=group["id"], kind=PostKind.CHAIR, data=_post(member), actor=SYSTEM)
    await activate_working_group(
        session,
        group_id=group["id"],
        data=WorkingGroupActivate(activated_on=date(2020, 2, 1)),
        expected_version=None,
        actor=SYSTEM,
    )
    with pytest.raises(Conflict) as refused:
        await end_post(
            session,
            group_id=group["id"],
            post_id=chair["id"],
            kind=PostKind.CHAIR,
            data=PostEnd(end_date=date(2022, 1, 1)),
            actor=SYSTEM,
        )
    assert refused.value.kind == "last-chair"
    await add_post(
        session, group_id=group["id"], kind=PostKind.CHAIR, data=_post(other, date(2021, 6, 1)), actor=SYSTEM
    )
    await end_post(
        session,
        group_id=group["id"],
        post_id=chair["id"],
        kind=PostKind.CHAIR,
        data=PostEnd(end_date=date(2022, 1, 1)),
        actor=SYSTEM,
    )
    closed = await close_working_group(
        session,
        group_id=group["id"],
        data=WorkingGroupClose(closed_on=date(2023, 1, 1), reason="Done."),
        expected_version=None,
        actor=SYSTEM,
    )
    assert closed["status"] == "closed" and closed["current_chairs"] == []
    with pytest.raises(Conflict):
        await add_post(
            session, group_id=group["id"], kind=PostKind.MEMBER, data=_post(member, date(2023, 6, 1)), actor=SYSTEM
        )


async def test_mou_lifecycle_rules(session, world):
    network, member, other, outsider, _, _ = world
    draft = await make_mou(session, network_id=network["id"], parties=[member["id"], other["id"]])
    sign = MouSign(entity_id=member["id"], signatory_name="N", signatory_title="T", signed_on=date(2020, 1, 1))
    with pytest.raises(Conflict):
        await sign_mou(
            session, mou_id=draft["id"], data=sign, expected_version=None, actor=SYSTEM
        )  # not under negotiation
    await submit_mou(session, mou_id=draft["id"], expected_version=None, actor=SYSTEM)
    with pytest.raises(Conflict) as refused:
        await sign_mou(
            session,
            mou_id=draft["id"],
            data=sign.model_copy(update={"entity_id": outsider["id"]}),
            expected_version=None,
            actor=SYSTEM,
        )
    assert refused.value.kind == "not-a-party"
    focal_other = Principal(id="key:y", role=Role.FOCAL_POINT, entity_id=other["id"])
    with pytest.raises(Forbidden):
        await sign_mou(session, mou_id=draft["id"], data=sign, expected_version=None, actor=focal_other)
    active = await make_mou(session, network_id=network["id"], parties=[member["id"], other["id"]], state="signed")
    with pytest.raises(Conflict) as refused:
        await update_mou(session, mou_id=active["id"], data=MouUpdate(title="X"), expected_version=None, actor=SYSTEM)
    assert refused.value.kind == "mou-not-editable"
    await refresh_mou(session, mou_id=active["id"], data=MouRefresh(reference_number="S/R1"), actor=SYSTEM)
    with pytest.raises(Conflict) as refused:
        await refresh_mou(session, mou_id=active["id"], data=MouRefresh(reference_number="S/R2"), actor=SYSTEM)
    assert refused.value.kind == "refresh-exists"
    await terminate_mou(
        session,
        mou_id=active["id"],
        data=MouTerminate(terminated_on=date(2025, 1, 1), reason="R."),
        expected_version=None,
        actor=SYSTEM,
    )
    with pytest.raises(Conflict):
        await terminate_mou(
            session,
            mou_id=active["id"],
            data=MouTerminate(terminated_on=date(2025, 1, 2), reason="R."),
            expected_version=None,
            actor=SYSTEM,
        )
