"""Every write route of the API, as the application declares it (``@Access`` beside each
route says who may make it), with a valid request for it against a small world and whose
record that request names. The access matrix, the check order and the audit tests walk
every write route of the application: one without a valid request here fails them, so no
new route escapes them."""

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.permissions import Access, BodyOwner
from api.route_table import route_table
from services.api_keys.schemas import ApiKeyCreate
from services.api_keys.service import create_api_key
from services.calendars.models import FeedScope
from services.calendars.schemas import SubscriptionCreate
from services.calendars.service import create_subscription
from services.clock import clock
from services.commitments.schemas import ChampionCountryCreate, PledgeCreate
from services.commitments.service import add_champion_country, create_pledge
from services.delivery_status import DeliveryStatus
from services.events.models import Event
from services.meetings.links import sign_link
from services.meetings.models import MeetingKind
from services.meetings.schemas import InviteeIn, MeetingCreate
from services.meetings.service import create_meeting
from services.memberships.models import MembershipTier
from services.networks.models import NetworkScope, PostRole
from services.networks.posts import appoint_post
from services.networks.schemas import NetworkPostCreate
from services.people.schemas import FocalPointCreate, PersonCreate
from services.people.service import appoint_focal_point, create_person
from services.principals import SYSTEM, Principal, Role
from services.reviews.models import Review
from services.reviews.schemas import RecommendationCreate, ReviewPolicyIn, ReviewStart
from services.reviews.service import add_recommendation, open_due_cycles, put_policy, start_review
from services.webhooks.models import WebhookDelivery
from services.webhooks.schemas import EndpointCreate
from services.webhooks.service import create_endpoint
from services.working_groups.models import PostKind
from services.working_groups.schemas import PostCreate, WorkingGroupCreate
from services.working_groups.service import add_post, create_working_group
from services.workplans.schemas import ActivityCreate, WorkplanCreate
from services.workplans.service import add_activity, create_workplan
from tests.factories import make_entity, make_membership, make_network
from tests.mou_helpers import make_mou
from tests.served_app import served_app

_names = itertools.count(1)


@dataclass
class World:
    """Entities A, B and C are current extended members of network N; E and the newcomer are
    in no network. A has a second focal point key. N is led by its coordinator (``lead``,
    coordinator and secretariat), which also leads regional network R, co-led by L2 (a core
    member of R holding a coordinator post).
    Working group G (proposed) is chaired by B, and A has a seat in it. N's reviews are led by A: one in progress, with a
    recommendation A owns, and one scheduled."""

    network: dict[str, Any]
    a: dict[str, Any]
    b: dict[str, Any]
    c: dict[str, Any]
    e: dict[str, Any]
    membership_a: dict[str, Any]
    key_a_id: uuid.UUID
    newcomer: dict[str, Any]
    group: dict[str, Any]
    chair_b_id: uuid.UUID
    seat_a_id: uuid.UUID
    mou_draft: dict[str, Any]
    mou_negotiation: dict[str, Any]
    mou_active: dict[str, Any]
    meeting: dict[str, Any]
    endpoint_id: uuid.UUID
    delivery_id: uuid.UUID
    review_in_progress_id: uuid.UUID
    review_scheduled_id: uuid.UUID
    recommendation_id: uuid.UUID
    first_review_due: date
    subscription_id: uuid.UUID
    lead: dict[str, Any]
    regional: dict[str, Any]
    co_lead: dict[str, Any]
    co_lead_post_id: uuid.UUID
    workplan: dict[str, Any] = field(default_factory=dict)
    activity: dict[str, Any] = field(default_factory=dict)
    pledge: dict[str, Any] = field(default_factory=dict)
    champion: dict[str, Any] = field(default_factory=dict)
    person: dict[str, Any] = field(default_factory=dict)  # a person of A, A's focal point
    person_post: dict[str, Any] = field(default_factory=dict)
    # A meeting of N a week from now, A invited; and the link A's focal point (the person) got.
    future_meeting: dict[str, Any] = field(default_factory=dict)
    invitation_token: str = ""


async def build_world(session: AsyncSession) -> World:
    network = await make_network(session)
    a = await make_entity(session, acronym="ENT-A")
    b = await make_entity(session, acronym="ENT-B")
    e = await make_entity(session, acronym="ENT-E")
    newcomer = await make_entity(session, acronym="NEWCOMER")
    membership_a = await make_membership(
        session, network_id=network["id"], entity_id=a["id"], tier=MembershipTier.EXTENDED
    )
    await make_membership(session, network_id=network["id"], entity_id=b["id"], tier=MembershipTier.EXTENDED)
    # The global Network takes no co-leads: R, a regional network N's lead also leads, does.
    regional = await make_network(
        session,
        coordinator_id=network["coordinator"]["id"],
        scope=NetworkScope.REGIONAL,
        parent_network_id=network["id"],
        region="ECA",
        name="Regional network R",
    )
    co_lead = await make_entity(session, acronym="ENT-L2")
    await make_membership(session, network_id=regional["id"], entity_id=co_lead["id"], tier=MembershipTier.CORE)
    co_lead_post = await appoint_post(
        session,
        network_id=regional["id"],
        data=NetworkPostCreate(entity_id=co_lead["id"], role=PostRole.COORDINATOR, start_date=date(2019, 1, 1)),
        actor=SYSTEM,
    )
    c = await make_entity(session, acronym="ENT-C")
    await make_membership(session, network_id=network["id"], entity_id=c["id"], tier=MembershipTier.EXTENDED)
    key_a, _ = await create_api_key(
        session, data=ApiKeyCreate(name="A's other focal point", role="focal_point", entity_id=a["id"]), actor=SYSTEM
    )
    group = await create_working_group(
        session, data=WorkingGroupCreate(network_id=network["id"], name="G", slug="g"), actor=SYSTEM
    )
    since = date(2019, 1, 1)
    chair = await add_post(
        session,
        group_id=group["id"],
        kind=PostKind.CHAIR,
        data=PostCreate(entity_id=b["id"], start_date=since),
        actor=SYSTEM,
    )
    seat = await add_post(
        session,
        group_id=group["id"],
        kind=PostKind.MEMBER,
        data=PostCreate(entity_id=a["id"], start_date=since),
        actor=SYSTEM,
    )
    parties = [a["id"], b["id"]]
    mous = [
        await make_mou(session, network_id=network["id"], parties=parties, state=state)
        for state in ("draft", "negotiation", "signed")
    ]
    starts = datetime.now(UTC) - timedelta(hours=3)
    meeting = await create_meeting(
        session,
        data=MeetingCreate(
            network_id=network["id"],
            kind=MeetingKind.EXTENDED_MEMBERSHIP,
            title="Annual meeting",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            time_zone="Europe/Zurich",
            location="Geneva",
            invitees=[InviteeIn(entity_id=a["id"]), InviteeIn(name="Civil society", email="cs@example.org")],
        ),
        actor=SYSTEM,
    )
    a_system = Principal(id=f"key:{key_a['id']}", role=Role.INTEGRATOR, entity_id=a["id"])
    endpoint, _ = await create_endpoint(
        session, data=EndpointCreate(url="http://127.0.0.1:9/hooks", event_types=["*"]), actor=a_system
    )
    await session.flush()
    some_event = await session.scalar(select(Event.id).order_by(Event.position.desc()).limit(1))
    delivery = WebhookDelivery(event_id=some_event, endpoint_id=endpoint["id"], status=DeliveryStatus.FAILED)
    session.add(delivery)
    await session.flush()
    today = clock.today()
    await put_policy(
        session,
        network_id=network["id"],
        # Cycles due in 30 days and 6 months later both open today (a year's lead time).
        data=ReviewPolicyIn(
            cadence_months=6, lead_time_days=365, lead_entity_id=a["id"], first_due_date=today + timedelta(days=30)
        ),
        actor=SYSTEM,
        expected_version=None,
    )
    assert await open_due_cycles(session, today=today) == 2
    first, second = (
        await session.scalars(select(Review.id).where(Review.network_id == network["id"]).order_by(Review.number))
    ).all()
    await start_review(session, review_id=first, data=ReviewStart(), actor=SYSTEM, expected_version=None)
    recommendation = await add_recommendation(
        session,
        review_id=first,
        data=RecommendationCreate(
            text="Meet twice a year.", owner_entity_id=a["id"], due_date=today + timedelta(days=90)
        ),
        actor=SYSTEM,
    )
    a_focal_point = Principal(id=f"key:{key_a['id']}", role=Role.FOCAL_POINT, entity_id=a["id"], api_key_id=key_a["id"])
    subscription, _ = await create_subscription(
        session,
        data=SubscriptionCreate(name="A's calendar", scope=FeedScope.NETWORK, subject_id=network["id"]),
        actor=a_focal_point,
    )
    world = World(
        network,
        a,
        b,
        c,
        e,
        membership_a,
        key_a["id"],
        newcomer,
        group,
        chair["id"],
        seat["id"],
        *mous,
        meeting,
        endpoint["id"],
        delivery.id,
        first,
        second,
        recommendation["id"],
        today + timedelta(days=30),
        subscription["id"],
        network["coordinator"],
        regional,
        co_lead,
        co_lead_post["id"],
    )
    world.workplan = await create_workplan(
        session,
        data=WorkplanCreate(network_id=network["id"], title="Workplan", start_date=since, end_date=date(2099, 12, 31)),
        actor=SYSTEM,
    )
    world.activity = await add_activity(
        session,
        workplan_id=world.workplan["id"],
        data=ActivityCreate(title="Activity", lead_entity_ids=[a["id"]], start_date=since, status_changed_on=since),
        actor=SYSTEM,
    )
    world.pledge = await create_pledge(
        session,
        data=PledgeCreate(
            network_id=network["id"], pledger_entity_id=a["id"], title="Pledge", due_date=date(2030, 1, 1)
        ),
        actor=SYSTEM,
    )
    world.champion = await add_champion_country(
        session,
        network_id=network["id"],
        data=ChampionCountryCreate(country_code="CL", start_date=since),
        actor=SYSTEM,
    )
    world.person = await create_person(
        session, data=PersonCreate(entity_id=a["id"], name="A. Person", email="person@a.example"), actor=SYSTEM
    )
    world.person_post = await appoint_focal_point(
        session, person_id=world.person["id"], data=FocalPointCreate(entity_id=a["id"], start_date=since), actor=SYSTEM
    )
    soon = datetime.now(UTC) + timedelta(days=7)
    world.future_meeting = await create_meeting(
        session,
        data=MeetingCreate(
            network_id=network["id"],
            kind=MeetingKind.EXTENDED_MEMBERSHIP,
            title="Next annual meeting",
            starts_at=soon,
            ends_at=soon + timedelta(hours=2),
            time_zone="Europe/Zurich",
            location="Geneva",
            invitees=[InviteeIn(entity_id=a["id"])],
        ),
        actor=SYSTEM,
    )
    [invitee] = world.future_meeting["invitees"]
    world.invitation_token = sign_link(
        meeting_id=world.future_meeting["id"],
        invitee_id=uuid.UUID(str(invitee["id"])),
        person_id=world.person["id"],
        expires_at=soon + timedelta(days=7),
    )
    return world


@dataclass(frozen=True)
class Calendar:
    """A body that is an iCalendar document (text/calendar), not JSON."""

    text: str


def itip_reply(meeting_id: Any, attendee: str, partstat: str, *, sequence: int = 0) -> Calendar:
    """An iTIP REPLY (RFC 5546) to a meeting of the registry, as a calendar app writes one."""
    return Calendar(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Integrator//Calendar//EN\r\nMETHOD:REPLY\r\n"
        f"BEGIN:VEVENT\r\nUID:{meeting_id}@migration-network-registry\r\nDTSTAMP:20261207T120000Z\r\n"
        f"SEQUENCE:{sequence}\r\nATTENDEE;PARTSTAT={partstat}:{attendee}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def body_of(body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The keyword arguments that send ``body`` (a valid request's: JSON, or a calendar) with ``headers``."""
    if isinstance(body, Calendar):
        return {"content": body.text.encode(), "headers": {"content-type": "text/calendar", **(headers or {})}}
    return {"json": body, "headers": headers or {}}


def valid_requests(w: World, n: int) -> dict[tuple[str, str], tuple[str, dict[str, Any] | None]]:
    """A valid request (URL, JSON body) for each write route, by (method, path); ``n`` makes
    names unique."""
    return {
        ("POST", "/v1/entities"): ("/v1/entities", {"acronym": f"NEW{n}", "name": "New", "kind": "un_system"}),
        ("PATCH", "/v1/entities/{entity_id}"): (f"/v1/entities/{w.a['id']}", {"website": "https://a.example.org"}),
        ("DELETE", "/v1/entities/{entity_id}"): (f"/v1/entities/{w.e['id']}", None),
        ("POST", "/v1/networks"): (
            "/v1/networks",
            {
                "name": f"Regional {n}",
                "scope": "regional",
                "region": "ECA",
                "parent_network_id": str(w.network["id"]),
                "established_on": "2021-01-01",
                "coordinator": {"entity_id": str(w.b["id"]), "mandate_relevance": "M.", "capacity": "C."},
            },
        ),
        ("PATCH", "/v1/networks/{network_id}"): (f"/v1/networks/{w.network['id']}", {"description": "Updated."}),
        ("POST", "/v1/networks/{network_id}/posts"): (
            f"/v1/networks/{w.regional['id']}/posts",
            {"entity_id": str(w.co_lead["id"]), "role": "secretariat", "start_date": "2024-01-01"},
        ),
        ("POST", "/v1/networks/{network_id}/posts/{network_post_id}/end"): (
            f"/v1/networks/{w.regional['id']}/posts/{w.co_lead_post_id}/end",
            {"end_date": "2030-12-31", "reason": "Term over."},
        ),
        ("POST", "/v1/memberships"): (
            "/v1/memberships",
            {
                "network_id": str(w.network["id"]),
                "entity_id": str(w.newcomer["id"]),
                "tier": "extended",
                "start_date": "2022-01-01",
            },
        ),
        ("POST", "/v1/networks/{network_id}/memberships"): (
            f"/v1/networks/{w.network['id']}/memberships",
            {"entity_id": str(w.newcomer["id"]), "tier": "extended", "start_date": "2022-01-01"},
        ),
        ("PATCH", "/v1/memberships/{membership_id}"): (
            f"/v1/memberships/{w.membership_a['id']}",
            {"notes": "Our focal point changed."},
        ),
        ("POST", "/v1/memberships/{membership_id}/end"): (
            f"/v1/memberships/{w.membership_a['id']}/end",
            {"end_date": "2025-12-31"},
        ),
        ("POST", "/v1/memberships/{membership_id}/change-tier"): (
            f"/v1/memberships/{w.membership_a['id']}/change-tier",
            {"tier": "core", "effective_date": "2024-01-01", "mandate_relevance": "M.", "capacity": "C."},
        ),
        ("POST", "/v1/api-keys"): ("/v1/api-keys", {"name": "New key", "role": "reader"}),
        ("POST", "/v1/api-keys/{key_id}/revoke"): (f"/v1/api-keys/{w.key_a_id}/revoke", None),
        ("POST", "/v1/calendar-subscriptions"): (
            "/v1/calendar-subscriptions",
            {"name": "Mine", "scope": "network", "subject_id": str(w.network["id"])},
        ),
        ("POST", "/v1/calendar-subscriptions/{subscription_id}/revoke"): (
            f"/v1/calendar-subscriptions/{w.subscription_id}/revoke",
            None,
        ),
        ("POST", "/v1/workplans"): (
            "/v1/workplans",
            {
                "network_id": str(w.network["id"]),
                "title": f"Plan {n}",
                "start_date": "2022-01-01",
                "end_date": "2024-12-31",
            },
        ),
        ("POST", "/v1/workplans/{workplan_id}/activities"): (
            f"/v1/workplans/{w.workplan['id']}/activities",
            {"title": f"Activity {n}", "lead_entity_ids": [str(w.a["id"])], "start_date": "2022-01-01"},
        ),
        ("POST", "/v1/workplans/{workplan_id}/activities/{activity_id}/status"): (
            f"/v1/workplans/{w.workplan['id']}/activities/{w.activity['id']}/status",
            {"status": "ongoing"},
        ),
        ("POST", "/v1/workplans/{workplan_id}/activities/{activity_id}/outputs"): (
            f"/v1/workplans/{w.workplan['id']}/activities/{w.activity['id']}/outputs",
            {"title": f"Output {n}", "link": "https://example.org/output", "published_on": "2023-01-01"},
        ),
        ("PATCH", "/v1/workplans/{workplan_id}"): (f"/v1/workplans/{w.workplan['id']}", {"title": "Revised"}),
        ("PATCH", "/v1/workplans/{workplan_id}/activities/{activity_id}"): (
            f"/v1/workplans/{w.workplan['id']}/activities/{w.activity['id']}",
            {"title": "Revised", "gcm_objectives": [2, 3]},
        ),
        ("POST", "/v1/networks/{network_id}/champion-countries/{champion_id}/end"): (
            f"/v1/networks/{w.network['id']}/champion-countries/{w.champion['id']}/end",
            {"end_date": "2031-12-31"},
        ),
        ("POST", "/v1/networks/{network_id}/champion-countries"): (
            f"/v1/networks/{w.network['id']}/champion-countries",
            {"country_code": "KE", "start_date": f"{2000 + n}-01-01", "end_date": f"{2000 + n}-12-31"},
        ),
        ("POST", "/v1/pledges"): (
            "/v1/pledges",
            {
                "network_id": str(w.network["id"]),
                "pledger_country_code": "MX",
                "title": f"Pledge {n}",
                "due_date": "2030-01-01",
            },
        ),
        ("POST", "/v1/pledges/{pledge_id}/status"): (f"/v1/pledges/{w.pledge['id']}/status", {"status": "in_progress"}),
        ("POST", "/v1/working-groups"): (
            "/v1/working-groups",
            {"network_id": str(w.network["id"]), "name": "Data", "slug": f"data-{n}", "gcm_objectives": [1]},
        ),
        ("PATCH", "/v1/working-groups/{group_id}"): (
            f"/v1/working-groups/{w.group['id']}",
            {"terms_of_reference": "ToR."},
        ),
        ("POST", "/v1/working-groups/{group_id}/activate"): (f"/v1/working-groups/{w.group['id']}/activate", {}),
        ("POST", "/v1/working-groups/{group_id}/close"): (
            f"/v1/working-groups/{w.group['id']}/close",
            {"closed_on": "2025-01-31", "reason": "Merged into another group."},
        ),
        ("POST", "/v1/working-groups/{group_id}/chairs"): (
            f"/v1/working-groups/{w.group['id']}/chairs",
            {"entity_id": str(w.a["id"]), "start_date": "2024-01-01"},
        ),
        ("POST", "/v1/working-groups/{group_id}/chairs/{post_id}/end"): (
            f"/v1/working-groups/{w.group['id']}/chairs/{w.chair_b_id}/end",
            {"end_date": "2024-12-31"},
        ),
        ("POST", "/v1/working-groups/{group_id}/members"): (
            f"/v1/working-groups/{w.group['id']}/members",
            {"entity_id": str(w.c["id"]), "start_date": "2024-01-01"},
        ),
        ("POST", "/v1/working-groups/{group_id}/members/{post_id}/end"): (
            f"/v1/working-groups/{w.group['id']}/members/{w.seat_a_id}/end",
            {"end_date": "2024-12-31"},
        ),
        ("POST", "/v1/mous"): (
            "/v1/mous",
            {
                "network_id": str(w.network["id"]),
                "title": "T",
                "reference_number": f"NEW/{n}",
                "party_entity_ids": [str(w.a["id"]), str(w.b["id"])],
            },
        ),
        ("PATCH", "/v1/mous/{mou_id}"): (f"/v1/mous/{w.mou_draft['id']}", {"title": "Revised"}),
        ("POST", "/v1/mous/{mou_id}/submit"): (f"/v1/mous/{w.mou_draft['id']}/submit", None),
        ("POST", "/v1/mous/{mou_id}/sign"): (
            f"/v1/mous/{w.mou_negotiation['id']}/sign",
            {"entity_id": str(w.a["id"]), "signatory_name": "N", "signatory_title": "T", "signed_on": "2024-01-02"},
        ),
        ("POST", "/v1/mous/{mou_id}/terminate"): (
            f"/v1/mous/{w.mou_active['id']}/terminate",
            {"terminated_on": "2025-01-01", "reason": "Replaced."},
        ),
        ("POST", "/v1/mous/{mou_id}/refresh"): (
            f"/v1/mous/{w.mou_active['id']}/refresh",
            {"reference_number": f"REF/{n}"},
        ),
        ("POST", "/v1/meetings"): (
            "/v1/meetings",
            {
                "network_id": str(w.network["id"]),
                "kind": "executive_committee",
                "title": "ExCom",
                "starts_at": "2030-03-01T09:00:00+01:00",
                "ends_at": "2030-03-01T12:00:00+01:00",
                "time_zone": "Europe/Zurich",
                "online_url": "https://meet.example.org/excom",
            },
        ),
        ("PATCH", "/v1/meetings/{meeting_id}"): (
            f"/v1/meetings/{w.meeting['id']}",
            {"title": "Annual meeting 2026"},
        ),
        ("POST", "/v1/meetings/{meeting_id}/cancel"): (
            f"/v1/meetings/{w.meeting['id']}/cancel",
            {"reason": "Postponed."},
        ),
        ("POST", "/v1/meetings/{meeting_id}/itip-replies"): (
            f"/v1/meetings/{w.future_meeting['id']}/itip-replies",
            itip_reply(w.future_meeting["id"], f"urn:uuid:{w.a['id']}", "TENTATIVE"),
        ),
        ("POST", "/invitations/{token}/reply"): (f"/invitations/{w.invitation_token}/reply?answer=accepted", None),
        ("POST", "/v1/meetings/{meeting_id}/hold"): (
            f"/v1/meetings/{w.meeting['id']}/hold",
            {"minutes": "Met.", "attended_entity_ids": [str(w.a["id"])], "outcomes": ["A work plan."]},
        ),
        ("POST", "/v1/webhook-endpoints"): (
            "/v1/webhook-endpoints",
            {"url": "http://127.0.0.1:9/other", "event_types": ["meeting.*"]},
        ),
        ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): (
            f"/v1/webhook-endpoints/{w.endpoint_id}",
            {"description": "Our portal"},
        ),
        ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): (f"/v1/webhook-endpoints/{w.endpoint_id}", None),
        ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): (
            f"/v1/webhook-endpoints/{w.endpoint_id}/rotate-secret",
            None,
        ),
        ("POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay"): (
            f"/v1/webhook-endpoints/{w.endpoint_id}/deliveries/{w.delivery_id}/replay",
            None,
        ),
        ("POST", "/v1/webhook-endpoints/{endpoint_id}/replay"): (
            f"/v1/webhook-endpoints/{w.endpoint_id}/replay",
            {"since": "2020-01-01T00:00:00Z"},
        ),
        ("PUT", "/v1/networks/{network_id}/review-policy"): (
            f"/v1/networks/{w.network['id']}/review-policy",
            {"cadence_months": 24, "lead_entity_id": str(w.a["id"]), "first_due_date": str(w.first_review_due)},
        ),
        ("POST", "/v1/reviews/{review_id}/start"): (f"/v1/reviews/{w.review_scheduled_id}/start", {}),
        ("POST", "/v1/people"): (
            "/v1/people",
            {"entity_id": str(w.a["id"]), "name": f"Person {n}", "email": f"p{n}@a.example", "title": "Officer"},
        ),
        ("PATCH", "/v1/people/{person_id}"): (f"/v1/people/{w.person['id']}", {"title": "Chief"}),
        ("POST", "/v1/people/{person_id}/erase"): (f"/v1/people/{w.person['id']}/erase", None),
        ("POST", "/v1/people/{person_id}/posts"): (
            f"/v1/people/{w.person['id']}/posts",
            {"network_id": str(w.network["id"]), "start_date": "2026-01-01"},
        ),
        ("POST", "/v1/people/{person_id}/posts/{focal_point_id}/end"): (
            f"/v1/people/{w.person['id']}/posts/{w.person_post['id']}/end",
            {"end_date": "2099-12-31"},
        ),
        ("POST", "/v1/reviews/{review_id}/complete"): (
            f"/v1/reviews/{w.review_in_progress_id}/complete",
            {"findings": "The configuration works; the extended tier should meet more often."},
        ),
        ("POST", "/v1/reviews/{review_id}/recommendations"): (
            f"/v1/reviews/{w.review_in_progress_id}/recommendations",
            {"text": "Map the regional networks.", "owner_entity_id": str(w.a["id"]), "due_date": "2030-01-31"},
        ),
        ("PATCH", "/v1/reviews/{review_id}/recommendations/{recommendation_id}"): (
            f"/v1/reviews/{w.review_in_progress_id}/recommendations/{w.recommendation_id}",
            {"due_date": "2030-03-31"},
        ),
        ("POST", "/v1/reviews/{review_id}/recommendations/{recommendation_id}/status"): (
            f"/v1/reviews/{w.review_in_progress_id}/recommendations/{w.recommendation_id}/status",
            {"status": "in_progress"},
        ),
    }


# Whose focal point is "own" on each route's valid request: entity A's unless named here.
OWNER = {
    ("DELETE", "/v1/entities/{entity_id}"): "e",
    # A network is managed, and its meetings organised, by its leads' focal points.
    ("PATCH", "/v1/networks/{network_id}"): "lead",
    ("POST", "/v1/networks/{network_id}/posts"): "lead",
    ("POST", "/v1/networks/{network_id}/posts/{network_post_id}/end"): "lead",
    ("POST", "/v1/meetings"): "lead",
    ("PATCH", "/v1/meetings/{meeting_id}"): "lead",
    ("POST", "/v1/meetings/{meeting_id}/cancel"): "lead",
    ("POST", "/v1/meetings/{meeting_id}/hold"): "lead",
    ("POST", "/v1/working-groups/{group_id}/chairs/{post_id}/end"): "b",
    # Seats are given (and may be ended) by the secretariat or the chair (B)'s focal point.
    ("POST", "/v1/working-groups/{group_id}/members"): "b",
    ("POST", "/v1/working-groups/{group_id}/members/{post_id}/end"): "b",
}

# The callers every write route is tried with: (role, whose entity). "own" is the entity
# the route's valid request names (OWNER), "other" another one.
CALLERS: dict[str, tuple[str | None, str | None]] = {
    "admin": ("admin", None),
    "focal_point_own": ("focal_point", "own"),
    "focal_point_other": ("focal_point", "other"),
    "integrator": ("integrator", None),
    "reader": ("reader", None),
    "anonymous": (None, None),
}


@dataclass(frozen=True)
class WriteRoute:
    method: str
    path: str  # as in the OpenAPI document
    access: Access | None  # declared beside the route; None when it declares nothing

    @property
    def owner(self) -> str:
        """Which entity's focal point is "own": "a", "b", "e" or "lead"."""
        return OWNER.get((self.method, self.path), "a")

    def entity(self, world: World, whose: str | None) -> dict[str, Any] | None:
        """The entity a caller acts for: the route's owner ("own"), another ("other"), none."""
        other = world.e if self.owner == "b" else world.b
        return {"own": getattr(world, self.owner), "other": other, None: None}[whose]

    def request(self, world: World) -> tuple[str, dict[str, Any] | None]:
        requests = valid_requests(world, next(_names))
        if (self.method, self.path) not in requests:
            pytest.fail(f"{self.method} {self.path} has no valid request: add one to valid_requests in {__name__}")
        return requests[(self.method, self.path)]

    @property
    def declared(self) -> Access:
        if self.access is None:
            pytest.fail(f"{self.method} {self.path} declares no access: put @Access(...) under its route decorator")
        return self.access

    def refusal(self, caller: str) -> int | None:
        """The status ``caller`` is refused with on the route's valid request, as its
        declaration says; None when it may make it."""
        role, whose = CALLERS[caller]
        access = self.declared
        if access.capability is not None:
            return None  # the link is the credential: whoever holds it, with a key or without
        if role is None:
            return 401
        if role == "admin":
            return None
        if Role(role) not in access.roles:
            return 403
        if access.hidden is not None and whose != "own":
            return 404  # the world's hidden records are the owner entity's, which its focal point sees
        if access.owners is not None and whose == "other":
            return 403
        return None

    def refused_before_the_body(self, caller: str) -> bool:
        """Refused by the access gate, before the body is read (not by the service after it)."""
        refused = self.refusal(caller) is not None
        return refused and not (CALLERS[caller][1] == "other" and isinstance(self.declared.owners, BodyOwner))


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _write_routes() -> tuple[WriteRoute, ...]:
    """Every write route of the application, with its declaration."""
    return tuple(
        WriteRoute(method, entry.path, entry.access)
        for entry in route_table(served_app())
        # The API's, and a link's pages that write (their declaration says so: a capability).
        if entry.path.startswith("/v1/") or (entry.access is not None and entry.access.capability is not None)
        for method in sorted(entry.methods & WRITE_METHODS)
    )


WRITE_ROUTES = _write_routes()

SUCCESS = {"POST": (200, 201, 202), "PUT": (200, 201), "PATCH": (200,), "DELETE": (204,)}
