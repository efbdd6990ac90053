"""The records a write's path names, as the access gate checks them before the body is read:
that they exist (404), that the caller may see them (404), and whose they are (403 for
another entity's focal point). Routes name the last two in their ``Access`` declaration."""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from api.permissions import HiddenRecord, OwnersLookup, PathOwners
from services.api_keys import repository as api_keys
from services.calendars import repository as calendars
from services.clock import clock
from services.commitments.models import ChampionCountry, Pledge
from services.entities.models import Entity
from services.meetings.models import Meeting
from services.memberships.models import Membership
from services.mous.models import Mou
from services.networks import repository as networks
from services.networks.models import Network, NetworkPost
from services.networks.posts import NOT_A_LEAD
from services.people.models import FocalPointPost, Person
from services.people.service import NOT_YOUR_PERSON
from services.reviews.models import Recommendation, Review
from services.webhooks import repository as webhooks
from services.webhooks.models import WebhookDelivery
from services.working_groups import repository as working_groups
from services.working_groups.models import WorkingGroup, WorkingGroupPost
from services.workplans.models import Activity, Workplan

# A path parameter names the same kind of record on every route: each is checked to exist
# (404) before the body is validated. Hidden records (below) are checked by their visibility.
RECORDS: dict[str, tuple[Any, str, str]] = {
    "entity_id": (Entity, "entity-not-found", "entity"),
    "network_id": (Network, "network-not-found", "network"),
    "network_post_id": (NetworkPost, "network-post-not-found", "network post"),
    "membership_id": (Membership, "membership-not-found", "membership"),
    "group_id": (WorkingGroup, "working-group-not-found", "working group"),
    "post_id": (WorkingGroupPost, "post-not-found", "post"),
    "mou_id": (Mou, "mou-not-found", "MoU"),
    "meeting_id": (Meeting, "meeting-not-found", "meeting"),
    "delivery_id": (WebhookDelivery, "delivery-not-found", "delivery"),
    "review_id": (Review, "review-not-found", "review"),
    "recommendation_id": (Recommendation, "recommendation-not-found", "recommendation"),
    "workplan_id": (Workplan, "workplan-not-found", "workplan"),
    "activity_id": (Activity, "activity-not-found", "activity"),
    "pledge_id": (Pledge, "pledge-not-found", "pledge"),
    "champion_id": (ChampionCountry, "champion-country-not-found", "champion country"),
    "person_id": (Person, "person-not-found", "person"),
    "focal_point_id": (FocalPointPost, "focal-point-post-not-found", "focal-point post"),
}

# Records a caller may not even see unless they are its own.
WEBHOOK_ENDPOINT = HiddenRecord(
    "endpoint_id", webhooks.get_visible_endpoint_row, "webhook-endpoint-not-found", "No webhook endpoint has id {id}."
)
API_KEY = HiddenRecord("key_id", api_keys.get_visible_key_row, "api-key-not-found", "No API key has id {id}.")
CALENDAR_SUBSCRIPTION = HiddenRecord(
    "subscription_id",
    calendars.get_subscription_row,
    "calendar-subscription-not-found",
    "No calendar subscription has id {id}.",
)


def _column_owners(*columns: Any, where: str) -> OwnersLookup:
    """The entities in ``columns`` of the record the path parameter ``where`` names."""

    async def owners(conn: AsyncConnection, ids: dict[str, uuid.UUID]) -> set[Any]:
        row = (await conn.execute(select(*columns).where(columns[0].table.c.id == ids[where]))).first()
        return set(row) if row is not None else set()

    return owners


async def _the_entity(conn: AsyncConnection, ids: dict[str, uuid.UUID]) -> set[Any]:
    return {ids["entity_id"]}


async def _recommendation_owner_or_lead(conn: AsyncConnection, ids: dict[str, uuid.UUID]) -> set[Any]:
    query = select(Recommendation.owner_entity_id, Review.lead_entity_id).join(
        Review, Review.id == Recommendation.review_id
    )
    row = (await conn.execute(query.where(Recommendation.id == ids["recommendation_id"]))).first()
    return set(row) if row is not None else set()


async def _group_chairs(conn: AsyncConnection, ids: dict[str, uuid.UUID]) -> set[Any]:
    """Seats are given by a focal point of one of the group's current chairs."""
    return await working_groups.chair_entities_on(conn, group_id=ids["group_id"], day=clock.today())


async def _group_chairs_or_seat_holder(conn: AsyncConnection, ids: dict[str, uuid.UUID]) -> set[Any]:
    """A seat is ended by a current chair's focal point, or its holder's (an entity may leave)."""
    holder = await conn.scalar(select(WorkingGroupPost.entity_id).where(WorkingGroupPost.id == ids["post_id"]))
    return await _group_chairs(conn, ids) | {holder}


async def _network_leads(conn: AsyncConnection, ids: dict[str, uuid.UUID]) -> set[Any]:
    """A network is managed by a focal point of an entity holding one of its posts today."""
    return await networks.leads_on(conn, network_id=ids["network_id"], day=clock.today())


async def _meeting_network_leads(conn: AsyncConnection, ids: dict[str, uuid.UUID]) -> set[Any]:
    """A meeting is organised by the leads of its network, today."""
    network_id = await conn.scalar(select(Meeting.network_id).where(Meeting.id == ids["meeting_id"]))
    return await networks.leads_on(conn, network_id=network_id, day=clock.today()) if network_id else set()


_NOT_THE_CHAIR = (
    "not-the-chair",
    "You may not do this: only the secretariat or a focal point of the group's current chair gives seats "
    "(and a member's own focal point may end its seat). Ask the chair or the secretariat.",
)

# Whose record the path names, for a focal point.
THE_ENTITY = PathOwners(_the_entity)
MEMBERSHIP_ENTITY = PathOwners(_column_owners(Membership.entity_id, where="membership_id"))
REVIEW_LEAD = PathOwners(_column_owners(Review.lead_entity_id, where="review_id"))
RECOMMENDATION_OWNER_OR_REVIEW_LEAD = PathOwners(_recommendation_owner_or_lead)
GROUP_CHAIRS = PathOwners(_group_chairs, _NOT_THE_CHAIR)
PERSON_ENTITY = PathOwners(_column_owners(Person.entity_id, where="person_id"), NOT_YOUR_PERSON)
NETWORK_LEADS = PathOwners(_network_leads, NOT_A_LEAD)
MEETING_NETWORK_LEADS = PathOwners(_meeting_network_leads, NOT_A_LEAD)
GROUP_CHAIRS_OR_SEAT_HOLDER = PathOwners(_group_chairs_or_seat_holder, _NOT_THE_CHAIR)
