"""Indicators as of a past date match a hand-built history."""

from datetime import UTC, date, datetime

from services.flows.membership_end import end_membership
from services.meetings.models import MeetingKind
from services.meetings.schemas import InviteeIn, MeetingCreate, MeetingHold
from services.meetings.service import create_meeting, hold_meeting
from services.memberships.models import MembershipTier
from services.memberships.schemas import MembershipEnd, TierChange
from services.memberships.service import change_tier
from services.mous.schemas import MouTerminate
from services.mous.service import terminate_mou
from services.principals import SYSTEM
from services.working_groups.models import PostKind
from services.working_groups.schemas import PostCreate, PostEnd, WorkingGroupActivate, WorkingGroupCreate
from services.working_groups.service import activate_working_group, add_post, create_working_group, end_post
from tests.factories import make_entity, make_membership, make_network
from tests.mou_helpers import make_mou


async def test_indicators_for_a_past_date_match_the_history(client, session):
    """A network established 2018-12-09 (coordinator core). Then, by 2022-06-30:
    - A joined extended 2019-01-01, moved to core 2021-07-01;
    - B joined extended 2019-01-01 and left 2022-03-31;
    - C joined extended 2021-09-01;
    - working group G1 active from 2020 with A as chair until 2022-01-31 (so chairless),
      G2 active from 2021 chaired by C, meeting held 2022-05-10; G3 proposed;
    - MoU X (A, C; lead A on objective 6) active since 2020-01-01, review due 2023-01-01;
      MoU Y (C, A; lead C on objective 6) active, terminated 2022-08-01 (after the date)."""
    network = await make_network(session, established_on=date(2018, 12, 9))
    a, b, c = [await make_entity(session, acronym=n) for n in ("IND-A", "IND-B", "IND-C")]
    ma = await make_membership(session, network_id=network["id"], entity_id=a["id"], start_date=date(2019, 1, 1))
    mb = await make_membership(session, network_id=network["id"], entity_id=b["id"], start_date=date(2019, 1, 1))
    await make_membership(session, network_id=network["id"], entity_id=c["id"], start_date=date(2021, 9, 1))
    await change_tier(
        session,
        membership_id=ma["id"],
        data=TierChange(
            tier=MembershipTier.CORE, effective_date=date(2021, 7, 1), mandate_relevance="M.", capacity="C."
        ),
        expected_version=None,
        actor=SYSTEM,
    )
    await end_membership(
        session,
        membership_id=mb["id"],
        data=MembershipEnd(end_date=date(2022, 3, 31)),
        expected_version=None,
        actor=SYSTEM,
    )

    async def group(slug, objectives, chair, chair_from, activated_on):
        row = await create_working_group(
            session,
            data=WorkingGroupCreate(network_id=network["id"], name=slug, slug=slug, gcm_objectives=objectives),
            actor=SYSTEM,
        )
        if chair:
            post = await add_post(
                session,
                group_id=row["id"],
                kind=PostKind.CHAIR,
                data=PostCreate(entity_id=chair["id"], start_date=chair_from),
                actor=SYSTEM,
            )
        if activated_on:
            await activate_working_group(
                session,
                group_id=row["id"],
                data=WorkingGroupActivate(activated_on=activated_on),
                expected_version=None,
                actor=SYSTEM,
            )
        return row, (post if chair else None)

    g1, g1_chair = await group("g1", [1], a, date(2020, 1, 1), date(2020, 1, 1))
    g2, _ = await group("g2", [2], c, date(2021, 9, 1), date(2021, 10, 1))
    await group("g3", [3], None, None, None)
    # G1 keeps a chair post from C, starting later, so A's may end; G1 is chairless in between.
    await add_post(
        session,
        group_id=g1["id"],
        kind=PostKind.CHAIR,
        data=PostCreate(entity_id=c["id"], start_date=date(2022, 9, 1)),
        actor=SYSTEM,
    )
    await end_post(
        session,
        group_id=g1["id"],
        post_id=g1_chair["id"],
        kind=PostKind.CHAIR,
        data=PostEnd(end_date=date(2022, 1, 31)),
        actor=SYSTEM,
    )
    starts = datetime(2022, 5, 10, 8, tzinfo=UTC)
    meeting = await create_meeting(
        session,
        data=MeetingCreate(
            network_id=network["id"],
            kind=MeetingKind.WORKING_GROUP,
            working_group_id=g2["id"],
            title="G2",
            starts_at=starts,
            ends_at=starts.replace(hour=10),
            time_zone="UTC",
            location="Online",
            invitees=[InviteeIn(entity_id=c["id"])],
        ),
        actor=SYSTEM,
    )
    await hold_meeting(
        session,
        meeting_id=meeting["id"],
        data=MeetingHold(minutes="m", attended_entity_ids=[c["id"]]),
        expected_version=None,
        actor=SYSTEM,
    )
    await make_mou(
        session,
        network_id=network["id"],
        parties=[a["id"], c["id"]],
        lead=a["id"],
        objectives=(6,),
        state="signed",
        effective_date=date(2020, 1, 1),
        reference="IND/X",
    )
    y = await make_mou(
        session,
        network_id=network["id"],
        parties=[c["id"], a["id"]],
        lead=c["id"],
        objectives=(6,),
        state="signed",
        effective_date=date(2021, 1, 1),
        reference="IND/Y",
    )
    await terminate_mou(
        session,
        mou_id=y["id"],
        data=MouTerminate(terminated_on=date(2022, 8, 1), reason="R."),
        expected_version=None,
        actor=SYSTEM,
    )
    await session.flush()

    result = (await client.get(f"/v1/networks/{network['id']}/indicators", params={"as_of": "2022-06-30"})).json()
    assert result["membership"] == {"core": 2, "extended": 1, "joined": 1, "left": 1, "tier_changes": 1}
    assert result["working_groups"] == {
        "active": 2,
        "without_current_chair": 1,
        "without_meeting_in_12_months": 1,
        "seats": {"network_members": 0, "stakeholders": 0},
    }
    assert result["mous"]["active"] == 2 and result["mous"]["contested_objectives"] == 1
    assert result["mous"]["review_due_within_90_days"] == 0 and result["mous"]["overdue_for_refresh"] == 0
    assert result["gcm_objectives"] == {"uncovered": 23 - 3, "contested": 1}
    assert result["annual_meeting_rule"]["state"] == "overdue"  # the extended membership never met

    later = (await client.get(f"/v1/networks/{network['id']}/indicators", params={"as_of": "2022-10-15"})).json()
    assert later["mous"]["active"] == 1 and later["gcm_objectives"]["contested"] == 0  # Y terminated
    assert later["mous"]["review_due_within_90_days"] == 1  # X's review falls due 2023-01-01
    assert later["working_groups"]["without_current_chair"] == 0  # C chairs G1 from 2022-09-01
    assert (await client.get("/v1/networks/00000000-0000-7000-8000-000000000000/indicators")).status_code == 404


async def test_notification_indicators_count_the_networks_own_deliveries(client, session):
    from services.delivery_status import DeliveryStatus
    from services.events.models import Event
    from services.mail.models import EmailDelivery
    from services.networks.models import NetworkScope
    from services.webhooks.models import WebhookDelivery, WebhookEndpoint

    ours = await make_network(session)
    theirs = await make_network(session, scope=NetworkScope.REGIONAL, region="ECA", parent_network_id=ours["id"])
    endpoint = WebhookEndpoint(
        url="https://hooks.example.org/x",
        event_types=["*"],
        owner_principal_id="key:x",
        owner_role="admin",
        secret="never delivered",
        secrets_key_id="none",
    )
    session.add(endpoint)
    await session.flush()
    when = datetime(2024, 5, 1, 12, tzinfo=UTC)
    outcomes = {
        ours["id"]: [(DeliveryStatus.SUCCEEDED, 1), (DeliveryStatus.SUCCEEDED, 2), (DeliveryStatus.FAILED, 6)],
        theirs["id"]: [(DeliveryStatus.FAILED, 6)],
    }
    for network_id, deliveries in outcomes.items():
        for status, attempts in deliveries:
            event = Event(
                type="network.updated",
                subject_type="network",
                subject_id=network_id,
                network_id=network_id,
                actor="test",
                payload={},
                occurred_at=when,
            )
            session.add(event)
            await session.flush()
            session.add(
                WebhookDelivery(
                    event_id=event.id,
                    endpoint_id=endpoint.id,
                    network_id=network_id,
                    status=status,
                    attempts=attempts,
                    created_at=when,
                )
            )
            session.add(
                EmailDelivery(
                    event_id=event.id,
                    recipient="a@example.org",
                    network_id=network_id,
                    kind="alert",
                    status=status,
                    attempts=attempts,
                    created_at=when,
                )
            )
    disabled = Event(
        type="webhook_endpoint.disabled",
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        actor="system",
        payload={},
        occurred_at=when,
    )
    session.add(disabled)
    await session.flush()
    url = f"/v1/networks/{ours['id']}/indicators"
    counts = {"attempted": 3, "succeeded": 2, "failed": 1}
    assert (await client.get(url, params={"as_of": "2024-06-01"})).json()["notifications"] == {
        "webhook_deliveries": counts,
        "email_deliveries": counts,
        "endpoints_disabled": 1,
    }
    # A year and a day later they are out of the twelve months counted.
    later = (await client.get(url, params={"as_of": "2025-05-02"})).json()["notifications"]
    assert later["webhook_deliveries"]["attempted"] == 0 and later["endpoints_disabled"] == 0
    assert (await client.get(url, params={"as_of": "2024-04-30"})).json()["notifications"]["endpoints_disabled"] == 0
    refused = await client.get(url, params={"as_of": "0001-01-01"})
    # The registry's one date domain, checked with the parameter: a 422 naming it and the range.
    assert refused.status_code == 422 and refused.json()["errors"][0]["parameter"] == "as_of"
    assert "1900-01-01 and 2999-12-31" in refused.json()["detail"]


async def test_each_delivery_carries_its_events_network(session, client):
    """The notification indicators count a network's deliveries by the network each delivery
    carries: the fan-out gives it its event's (and none to an event of no network)."""
    from sqlalchemy import select

    from services.delivery.relay import publish_batch
    from services.events.models import Event
    from services.mail.models import EmailDelivery
    from services.networks.models import NetworkScope
    from services.webhooks.models import WebhookDelivery
    from tests.webhook_receiver import Receiver

    receiver = Receiver()
    try:
        assert (
            await client.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["*"]})
        ).status_code == 201
        while (await publish_batch(session)).events:  # what came before is not this test's
            pass
        networks = []
        for n, region in ((1, None), (2, "ECE")):  # the global network and a regional one under it
            coordinator = await make_entity(session, acronym=f"COORD{n}X", contact_email=f"coordinator{n}@example.org")
            extra = (
                {}
                if region is None
                else {
                    "scope": NetworkScope.REGIONAL,
                    "parent_network_id": networks[0]["id"],
                    "region": region,
                    "name": f"{region} network",
                }
            )
            networks.append(await make_network(session, coordinator_id=coordinator["id"], **extra))
        for network in networks:
            session.add(
                Event(
                    type="network.meeting_overdue",
                    subject_type="network",
                    subject_id=network["id"],
                    network_id=network["id"],
                    actor="system",
                    payload={},
                )
            )
        await session.flush()
        while (await publish_batch(session)).events:
            pass
        webhooks = (
            await session.execute(
                select(Event.type, Event.network_id, WebhookDelivery.network_id).join(WebhookDelivery)
            )
        ).all()
        emails = (
            await session.execute(select(Event.type, Event.network_id, EmailDelivery.network_id).join(EmailDelivery))
        ).all()
    finally:
        receiver.close()
    assert {"entity.created", "network.created", "network.meeting_overdue"} <= {t for t, _, _ in webhooks}
    assert sorted((t, str(n)) for t, n, _ in emails) == sorted(
        ("network.meeting_overdue", str(network["id"])) for network in networks
    )
    assert {n for _, n, _ in webhooks} >= {network["id"] for network in networks} | {None}
    for event_type, event_network, delivery_network in webhooks + emails:
        assert delivery_network == event_network, event_type
