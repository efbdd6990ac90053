"""GET /v1/events: the change feed, in order, resumable, and never skipping a late commit.
(The feed serves committed transactions only, so these tests commit.)"""

import pytest
from httpx import ASGITransport, AsyncClient

from services.database import get_database
from tests.conftest import committed_admin_key
from tests.factories import make_entity
from tests.served_app import served_app


@pytest.fixture
async def feed_client(committed):
    headers = {"Authorization": f"Bearer {await committed_admin_key()}"}
    async with AsyncClient(transport=ASGITransport(app=served_app()), base_url="http://t", headers=headers) as client:
        yield client


async def head(client) -> str:
    """The cursor at the head of the log: follow rel="next" until a page has none."""
    response = await client.get("/v1/events", params={"limit": 200})
    for _ in range(1000):
        if "link" not in response.headers:
            return response.json()["next_cursor"]
        response = await client.get(response.headers["link"].split(">")[0][1:])
    raise AssertionError("the feed never said it had caught up")


async def test_the_feed_pages_through_every_change_in_order(feed_client):
    start = await head(feed_client)
    async with get_database().session() as session:
        for i in range(5):
            await make_entity(session, acronym=f"FEED{i}")
    seen, cursor = [], start
    for _ in range(10):
        response = await feed_client.get("/v1/events", params={"limit": 2, "type": "entity.*", "after": cursor})
        page = response.json()
        assert ("link" in response.headers) == (len(page["items"]) == 2)  # a short page: caught up, no next
        if not page["items"]:
            break
        seen += [e["data"]["entity"]["acronym"] for e in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [f"FEED{i}" for i in range(5)]
    again = await feed_client.get("/v1/events", params={"after": cursor})
    assert again.json()["items"] == [] and again.json()["next_cursor"] == cursor  # poll again from the same place
    assert "link" not in again.headers  # a client following rel="next" stops here instead of looping
    assert (await feed_client.get("/v1/events", params={"after": "nonsense"})).status_code == 422


async def test_key_and_endpoint_events_are_for_admins_and_their_owners(feed_client):
    """Every role, each seeing exactly: the public record, plus events of its own key and
    endpoints (an admin: all of them)."""
    start = await head(feed_client)
    keys = {}
    for name, role in (("a", "integrator"), ("b", "integrator"), ("reader", "reader")):
        created = (await feed_client.post("/v1/api-keys", json={"name": name, "role": role})).json()
        keys[name] = (created["id"], created["key"])
    as_ = {name: {"Authorization": f"Bearer {key}"} for name, (_, key) in keys.items()}
    endpoint = await feed_client.post(
        "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/a", "event_types": ["*"]}, headers=as_["a"]
    )
    assert endpoint.status_code == 201, endpoint.text
    await feed_client.post("/v1/entities", json={"acronym": "PUBLIC", "name": "Public", "kind": "un_system"})

    def subjects(response) -> set[tuple[str, str]]:
        return {(e["type"], e["subject_id"]) for e in response.json()["items"]}

    public = (
        "entity.created",
        next(
            iter(
                s
                for t, s in subjects(
                    await feed_client.get("/v1/events", params={"after": start, "type": "entity.created"})
                )
            )
        ),
    )
    key_event = {name: ("api_key.created", key_id) for name, (key_id, _) in keys.items()}
    endpoint_event = ("webhook_endpoint.created", endpoint.json()["id"])
    seen = {
        name: subjects(await feed_client.get("/v1/events", params={"after": start}, headers=headers))
        for name, headers in {"admin": {}, **as_}.items()
    }
    assert seen["admin"] == {*key_event.values(), endpoint_event, public}
    assert seen["a"] == {key_event["a"], endpoint_event, public}
    assert seen["b"] == {key_event["b"], public}
    assert seen["reader"] == {key_event["reader"], public}


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


async def test_a_transaction_in_another_database_does_not_hold_the_feed_back(feed_client):
    """The horizon is this database's: a long transaction of another application on the same
    PostgreSQL server (another database) never writes here, so the feed does not wait for it."""
    import asyncpg
    from sqlalchemy import make_url

    from tests.conftest import SERVER_URL

    start = (await feed_client.get("/v1/events", params={"limit": 200})).json()["next_cursor"]
    url = make_url(SERVER_URL).set(drivername="postgresql", database="postgres")
    other = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        async with other.transaction():
            await other.fetchval("SELECT pg_current_xact_id()")  # running, with a transaction id
            async with get_database().session() as session:
                await make_entity(session, acronym="NOTHELD")
            page = (await feed_client.get("/v1/events", params={"after": start, "type": "entity.created"})).json()
            assert [e["data"]["entity"]["acronym"] for e in page["items"]] == ["NOTHELD"]
    finally:
        await other.close()


async def test_after_a_restore_into_another_server_the_feed_goes_on(feed_client):
    """A dump restored into another server carries transaction ids that run ahead of the new
    server's. `registry migrate` (continue_feed_after_restore) offsets the new ids, so the
    restored events show, and a reader who has read them all gets what is written next."""
    from sqlalchemy import text

    from services.events.service import continue_feed_after_restore

    database = get_database()
    async with database.session() as session:
        await make_entity(session, acronym="BEFORE")
    async with database.session() as session:
        assert await continue_feed_after_restore(session) is None  # in order: nothing to do
        # As if restored from a server whose transaction ids had run far ahead.
        await session.execute(text("UPDATE events SET transaction_id = transaction_id + 1000000000000"))
    try:
        cursor = await head(feed_client)
        assert "BEFORE" not in str((await feed_client.get("/v1/events", params={"limit": 200})).json())
        async with database.session() as session:
            offset = await continue_feed_after_restore(session)
        assert offset is not None and offset > 1000000000000
        await database.dispose()  # new connections take the database's new setting
        restored = await feed_client.get("/v1/events", params={"type": "entity.created", "limit": 200})
        assert "BEFORE" in {e["data"]["entity"]["acronym"] for e in restored.json()["items"]}
        cursor = await head(feed_client)
        async with database.session() as session:
            await make_entity(session, acronym="AFTER")
        page = (await feed_client.get("/v1/events", params={"after": cursor, "type": "entity.created"})).json()
        assert [e["data"]["entity"]["acronym"] for e in page["items"]] == ["AFTER"]
        async with database.session() as session:
            assert await continue_feed_after_restore(session) is None  # once is enough
    finally:
        async with database.session() as session:
            statement = await session.scalar(
                text("SELECT format('ALTER DATABASE %I RESET registry.xid_offset', current_database())")
            )
            await session.execute(text(statement))
        await database.engine.dispose()
