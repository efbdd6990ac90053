"""Calendar subscriptions: secret feed URLs that calendar apps (which send no Authorization
header) can subscribe to — shown once, stored hashed, revocable, with ETag/Last-Modified/304;
feeds parsed with the icalendar package."""

import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import icalendar
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from services.meetings.models import MeetingKind
from services.meetings.schemas import InviteeIn, MeetingCreate
from services.meetings.service import create_meeting
from services.principals import SYSTEM
from services.working_groups.schemas import WorkingGroupCreate
from services.working_groups.service import create_working_group
from tests.conftest import PUBLIC
from tests.factories import make_entity, make_membership, make_network


@pytest.fixture
async def agenda(session):
    """A network with a working group, a meeting of the group and a meeting of the network."""
    network = await make_network(session)
    member = await make_entity(session, acronym="CAL-UN", contact_email="focal@cal.example")
    await make_membership(session, network_id=network["id"], entity_id=member["id"])
    group = await create_working_group(
        session, data=WorkingGroupCreate(network_id=network["id"], name="Data", slug="cal-data"), actor=SYSTEM
    )
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=40)
    meetings = {}
    for title, kind, group_id in (
        ("Group meeting", MeetingKind.WORKING_GROUP, group["id"]),
        ("Network meeting", MeetingKind.OTHER, None),
    ):
        meetings[title] = await create_meeting(
            session,
            data=MeetingCreate(
                network_id=network["id"],
                working_group_id=group_id,
                kind=kind,
                title=title,
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                time_zone="Europe/Zurich",
                location="Geneva",
                invitees=[InviteeIn(entity_id=member["id"]), InviteeIn(name="Private", email="private@example.org")],
            ),
            actor=SYSTEM,
        )
    await session.flush()
    return network, group, meetings, member


def _anonymous(app) -> AsyncClient:
    return AsyncClient(transport=ASGITransport(app=app), base_url="http://registry.test")


def _feed_path(url: str) -> str:
    assert url.startswith(PUBLIC + "/v1/calendars/mnrcal_") and url.endswith(".ics"), url
    return url[len(PUBLIC) :]


def _uids(body: bytes) -> set[str]:
    return {str(e["UID"]).split("@")[0] for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}


async def test_two_subscribers_get_secret_urls_for_what_they_chose(
    app, make_client, session, connection, agenda, public_base_url
):
    network, group, meetings, member = agenda
    reader = await make_client("reader")
    focal_point = await make_client("focal_point", entity_id=member["id"])
    feeds = {}
    for who, client, scope, subject in (
        ("reader", reader, "network", network["id"]),
        ("focal_point", focal_point, "working_group", group["id"]),
        ("focal_point_meeting", focal_point, "meeting", meetings["Network meeting"]["id"]),
    ):
        created = await client.post(
            "/v1/calendar-subscriptions", json={"name": f"{who} feed", "scope": scope, "subject_id": str(subject)}
        )
        assert created.status_code == 201, created.text
        assert created.headers["cache-control"] == "no-store"
        feeds[who] = created.json()

    anonymous = _anonymous(app)
    served = {}
    for who, feed in feeds.items():
        response = await anonymous.get(_feed_path(feed["url"]))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/calendar")
        assert "private@example.org" not in response.text  # invitees' addresses are not in feeds
        served[who] = _uids(response.content)
    every = {str(m["id"]) for m in meetings.values()}
    assert served == {
        "reader": every,
        "focal_point": {str(meetings["Group meeting"]["id"])},
        "focal_point_meeting": {str(meetings["Network meeting"]["id"])},
    }

    # The token is shown once and kept only as a hash.
    token = feeds["reader"]["url"].rsplit("/", 1)[1].removesuffix(".ics")
    stored = (await connection.execute(text("SELECT * FROM calendar_subscriptions"))).mappings().all()
    assert all(token not in str(dict(row)) for row in stored)
    assert hashlib.sha256(token.encode()).hexdigest() in {row["token_hash"] for row in stored}
    shown = (await reader.get(f"/v1/calendar-subscriptions/{feeds['reader']['id']}")).json()
    assert "url" not in shown and token.startswith(shown["token_prefix"])

    # Each sees its own; another subscriber can neither see nor revoke it.
    assert [s["id"] for s in (await reader.get("/v1/calendar-subscriptions")).json()["items"]] == [
        feeds["reader"]["id"]
    ]
    assert (await focal_point.get(f"/v1/calendar-subscriptions/{feeds['reader']['id']}")).status_code == 404
    assert (await focal_point.post(f"/v1/calendar-subscriptions/{feeds['reader']['id']}/revoke")).status_code == 404
    assert (await anonymous.get(_feed_path(feeds["reader"]["url"]))).status_code == 200

    revoked = await reader.post(f"/v1/calendar-subscriptions/{feeds['reader']['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    gone = await anonymous.get(_feed_path(feeds["reader"]["url"]))
    assert gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"
    again = await reader.post(f"/v1/calendar-subscriptions/{feeds['reader']['id']}/revoke")
    assert again.status_code == 409
    assert (await anonymous.get(_feed_path(feeds["focal_point"]["url"]))).status_code == 200  # others go on
    assert (await anonymous.get("/v1/calendars/mnrcal_guessed.ics")).status_code == 404
    await anonymous.aclose()


async def test_a_feed_stops_when_the_key_that_made_it_is_revoked(app, client, agenda, public_base_url):
    network, *_ = agenda
    key = (await client.post("/v1/api-keys", json={"name": "Outlook user", "role": "reader"})).json()
    holder = AsyncClient(
        transport=ASGITransport(app=app),
        base_url="http://registry.test",
        headers={"Authorization": f"Bearer {key['key']}"},
    )
    feed = (
        await holder.post(
            "/v1/calendar-subscriptions",
            json={"name": "Mine", "scope": "network", "subject_id": str(network["id"])},
        )
    ).json()
    anonymous = _anonymous(app)
    assert (await anonymous.get(_feed_path(feed["url"]))).status_code == 200
    assert (await client.post(f"/v1/api-keys/{key['id']}/revoke")).status_code == 200
    assert (await anonymous.get(_feed_path(feed["url"]))).status_code == 404
    for c in (holder, anonymous):
        await c.aclose()


async def test_feeds_answer_304_until_a_meeting_changes(app, client, agenda, public_base_url):
    network, group, meetings, _ = agenda
    feed = (
        await client.post(
            "/v1/calendar-subscriptions",
            json={"name": "Conditional", "scope": "network", "subject_id": str(network["id"])},
        )
    ).json()
    anonymous = _anonymous(app)
    paths = [
        _feed_path(feed["url"]),
        f"/v1/networks/{network['id']}/calendar.ics",
        f"/v1/working-groups/{group['id']}/calendar.ics",
        f"/v1/meetings/{meetings['Group meeting']['id']}.ics",
    ]
    etags = {}
    for path in paths:
        caller = anonymous if path.startswith("/v1/calendars/") else client
        first = await caller.get(path)
        assert first.status_code == 200, path
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        etags[path] = etag
        assert etag.startswith('"') and modified.endswith("GMT")
        same = await caller.get(path, headers={"If-None-Match": etag})
        assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == etag, path
        assert (await caller.get(path, headers={"If-Modified-Since": modified})).status_code == 304, path
        earlier = format_datetime(datetime(2020, 1, 1, tzinfo=UTC), usegmt=True)
        assert (await caller.get(path, headers={"If-Modified-Since": earlier})).status_code == 200, path
        assert (await caller.get(path, headers={"If-None-Match": '"other"'})).status_code == 200, path

    meeting = meetings["Group meeting"]
    current = await client.get(f"/v1/meetings/{meeting['id']}")
    changed = await client.patch(
        f"/v1/meetings/{meeting['id']}",
        json={"location": "New York"},
        headers={"If-Match": current.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    for path in paths:  # every feed holds the group's meeting
        caller = anonymous if path.startswith("/v1/calendars/") else client
        after = await caller.get(path, headers={"If-None-Match": etags[path]})
        assert after.status_code == 200 and "New York" in after.text, path
        assert after.headers["etag"] != etags[path], path
    await anonymous.aclose()
