"""GET /v1/events: the change feed, in order, resumable, and never skipping a late commit.
(The feed serves committed transactions only, so these tests commit.)"""

import pytest
from httpx import ASGITransport, AsyncClient

from api.app import create_app
from services.database import get_database
from tests.conftest import committed_admin_key
from tests.factories import make_entity


@pytest.fixture
async def feed_client(committed):
    headers = {"Authorization": f"Bearer {await committed_admin_key()}"}
    async with AsyncClient(transport=ASGITransport(app=create_app()), base_url="http://t", headers=headers) as client:
        yield client


async def test_the_feed_pages_through_every_change_in_order(feed_client):
    start = (await feed_client.get("/v1/events", params={"limit": 200})).json()["next_cursor"]
    async with get_database().session() as session:
        for i in range(5):
            await make_entity(session, acronym=f"FEED{i}")
    seen, cursor = [], start
    for _ in range(10):
        page = (await feed_client.get("/v1/events", params={"limit": 2, "type": "entity.*", "after": cursor})).json()
        if not page["items"]:
            break
        seen += [e["data"]["entity"]["acronym"] for e in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [f"FEED{i}" for i in range(5)]
    again = (await feed_client.get("/v1/events", params={"after": cursor})).json()
    assert again["items"] == [] and again["next_cursor"] == cursor  # poll again from the same place
    assert (await feed_client.get("/v1/events", params={"after": "nonsense"})).status_code == 422


async def test_api_key_events_are_for_admins(feed_client):
    await feed_client.post("/v1/api-keys", json={"name": "Feed", "role": "reader"})
    reader_key = (await feed_client.post("/v1/api-keys", json={"name": "Reader", "role": "reader"})).json()["key"]
    admin_types = {e["type"] for e in (await feed_client.get("/v1/events", params={"limit": 200})).json()["items"]}
    reader = await feed_client.get(
        "/v1/events", params={"limit": 200}, headers={"Authorization": f"Bearer {reader_key}"}
    )
    assert "api_key.created" in admin_types and "api_key.created" not in {e["type"] for e in reader.json()["items"]}


async def test_an_event_committed_late_is_not_skipped(feed_client):
    """Transaction A appends an event first but commits last; a reader who has seen B's
    later event must still get A's."""
    database = get_database()
    start = (await feed_client.get("/v1/events", params={"limit": 200})).json()["next_cursor"]
    async with database.session() as slow:
        await make_entity(slow, acronym="SLOW")  # appended first, committed last
        async with database.session() as fast:
            await make_entity(fast, acronym="FAST")
        page = (await feed_client.get("/v1/events", params={"after": start, "type": "entity.created"})).json()
        assert page["items"] == []  # FAST is held back while SLOW's transaction runs
    page = (await feed_client.get("/v1/events", params={"after": start, "type": "entity.created"})).json()
    assert [e["data"]["entity"]["acronym"] for e in page["items"]] == ["SLOW", "FAST"]
