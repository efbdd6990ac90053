"""Records for every GET route to read: the demo network plus enough keys, endpoints,
deliveries and subscriptions that each list has more than one row, and the ids to fill each
route's path with."""

import re
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select

from services.delivery.relay import publish_batch
from services.demo.service import load_demo_data
from services.entities.models import Entity
from services.meetings.links import link_expiry, sign_link
from services.meetings.models import Meeting, MeetingInvitee, MeetingStatus
from services.networks.models import NetworkScope
from services.people.models import Person
from services.reviews.models import Recommendation
from services.working_groups.models import PostKind, WorkingGroupPost
from tests.factories import make_entity, make_network
from tests.webhook_receiver import Receiver

ENOUGH = 2  # rows of each kind, at least


async def read_world(client: AsyncClient, session: Any, receiver: Receiver) -> dict[str, Any]:
    """The demo network, plus enough keys, endpoints, deliveries and subscriptions for every list."""
    assert await load_demo_data(session)
    await session.flush()
    ids: dict[str, Any] = {}
    network = (await client.get("/v1/networks")).json()["items"][0]
    ids["network_id"] = network["id"]
    ids["entity_id"] = str(await session.scalar(select(Entity.id).where(Entity.acronym == "IOM")))
    for region in ("ECE", "ESCAP"):
        await make_network(
            session,
            scope=NetworkScope.REGIONAL,
            parent_network_id=network["id"],
            region=region,
            name=f"{region} network",
        )
    for name in ("portal", "dashboard", "archive"):
        created = await client.post("/v1/api-keys", json={"name": name, "role": "reader"})
        assert created.status_code == 201, created.text
        ids["key_id"] = created.json()["id"]
    for n in range(ENOUGH):
        created = await client.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["*"]})
        assert created.status_code == 201, created.text
        ids["endpoint_id"] = created.json()["id"]
        created = await client.post(
            "/v1/calendar-subscriptions",
            json={"name": f"feed {n}", "scope": "network", "subject_id": ids["network_id"]},
        )
        assert created.status_code == 201, created.text
        ids["subscription_id"] = created.json()["id"]
        ids["token"] = re.search(r"(mnrcal_[^/]+)\.ics$", created.json()["url"]).group(1)  # type: ignore[union-attr]
    for _ in range(ENOUGH):  # events that the endpoints want: deliveries
        await make_entity(session)
    while (await publish_batch(session)).events:
        pass
    await session.flush()
    member = (
        (await session.execute(select(WorkingGroupPost).where(WorkingGroupPost.kind == PostKind.MEMBER)))
        .scalars()
        .first()
    )
    assert member is not None
    chair = (
        (
            await session.execute(
                select(WorkingGroupPost).where(
                    WorkingGroupPost.kind == PostKind.CHAIR,
                    WorkingGroupPost.working_group_id == member.working_group_id,
                )
            )
        )
        .scalars()
        .first()
    )
    assert chair is not None
    ids["group_id"], ids["member_post_id"], ids["chair_post_id"] = member.working_group_id, member.id, chair.id
    recommendation = (await session.execute(select(Recommendation))).scalars().first()
    assert recommendation is not None
    ids["recommendation_id"], ids["review_id"] = str(recommendation.id), str(recommendation.review_id)
    ids["network_post_id"] = (await client.get(f"/v1/networks/{ids['network_id']}/posts")).json()["items"][0]["id"]
    for collection, name in (
        ("memberships", "membership_id"),
        ("mous", "mou_id"),
        ("meetings", "meeting_id"),
        ("workplans", "workplan_id"),
        ("pledges", "pledge_id"),
    ):
        ids[name] = (await client.get(f"/v1/{collection}")).json()["items"][0]["id"]
    # The demo's IOM focal point with two posts (one ended).
    ids["person_id"] = await session.scalar(select(Person.id).where(Person.email == "alpha.focal@iom.example.org"))
    workplan = (await client.get("/v1/workplans", params={"limit": 2})).json()["items"][-1]  # the 2022-24 one
    ids["workplan_id"] = workplan["id"]
    ids["activity_id"] = (await client.get(f"/v1/workplans/{workplan['id']}/activities")).json()["items"][0]["id"]
    # An invitee of a meeting still to come, and the link its invitation gave it.
    meeting_id, invitee_id, ends_at = (
        await session.execute(
            select(Meeting.id, MeetingInvitee.id, Meeting.ends_at)
            .join(MeetingInvitee, MeetingInvitee.meeting_id == Meeting.id)
            .where(Meeting.status == MeetingStatus.SCHEDULED, Meeting.ends_at > func.now())
            .order_by(Meeting.starts_at)
            .limit(1)
        )
    ).one()
    ids["invitation_token"] = sign_link(
        meeting_id=meeting_id, invitee_id=invitee_id, person_id=None, expires_at=link_expiry(ends_at)
    )
    return ids


def read_url(path: str, ids: dict[str, Any]) -> str:
    if path.startswith("/invitations/"):
        ids = {**ids, "token": ids["invitation_token"]}
    if "/chairs/" in path or "/members/" in path:
        ids = {**ids, "post_id": ids["chair_post_id" if "/chairs/" in path else "member_post_id"]}
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
