"""Every read and list route issues a fixed number of SQL statements, whatever the page size
(no N+1), and a read on the API's own connections is one round trip: no BEGIN, COMMIT or
ROLLBACK around its query. The busiest creations (an entity, a membership, each with its
event and audit entry) issue a fixed number too, in one transaction.

The budget below is the number of statements each GET route issues (authentication cached,
as it is on every request but one per key and AUTH_CACHE_SECONDS). A route that needs one
more statement changes its line here, on purpose; a list whose count grows with its page
fails whatever its line says.
"""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import event

from api.route_table import route_table
from services.api_keys.authenticator import Authenticator
from services.database import get_database
from services.settings import get_settings
from tests.conftest import committed_admin_key
from tests.factories import make_network
from tests.read_world import ENOUGH, read_url, read_world
from tests.served_app import served_app
from tests.webhook_receiver import Receiver
from worker.events import settle_relay_nudges

# Statements per request, by route. Lists: the same at limit=1 and limit=50.
BUDGET = {
    "/v1/gcm/objectives": 1,
    "/v1/gcm/principles": 1,
    "/v1/countries": 0,
    "/v1/regions": 0,
    "/v1/sdg-targets": 0,
    "/v1/entities": 1,
    "/v1/entities/{entity_id}": 1,
    "/v1/networks": 1,
    "/v1/networks/{network_id}": 1,
    "/v1/networks/{network_id}/memberships": 2,
    "/v1/networks/{network_id}/posts": 2,
    "/v1/networks/{network_id}/posts/{network_post_id}": 1,
    "/v1/memberships": 1,
    "/v1/memberships/{membership_id}": 1,
    "/v1/workplans": 1,
    "/v1/workplans/{workplan_id}": 1,
    "/v1/workplans/{workplan_id}/activities": 2,  # the workplan exists, then the page
    "/v1/workplans/{workplan_id}/activities/{activity_id}": 1,
    "/v1/networks/{network_id}/champion-countries": 2,  # the network exists, then the page
    "/v1/people": 1,
    "/v1/people/{person_id}": 1,
    "/v1/people/{person_id}/posts": 2,
    "/v1/pledges": 1,
    "/v1/pledges/{pledge_id}": 1,
    "/v1/working-groups": 1,
    "/v1/working-groups/{group_id}": 1,
    "/v1/working-groups/{group_id}/chairs": 2,
    "/v1/working-groups/{group_id}/chairs/{post_id}": 1,
    "/v1/working-groups/{group_id}/members": 2,
    "/v1/working-groups/{group_id}/members/{post_id}": 1,
    "/v1/mous": 1,
    "/v1/mous/{mou_id}": 1,
    "/v1/mous/{mou_id}/history": 2,
    "/v1/networks/{network_id}/coverage": 2,
    "/v1/networks/{network_id}/indicators": 4,
    "/v1/networks/{network_id}/reports/activity": 25,  # one statement per section
    "/v1/networks/{network_id}/review-policy": 1,
    "/v1/reviews": 1,
    "/v1/reviews/{review_id}": 1,
    "/v1/reviews/{review_id}/recommendations": 2,
    "/v1/reviews/{review_id}/recommendations/{recommendation_id}": 1,
    "/v1/meetings": 1,
    "/v1/meetings/{meeting_id}.ics": 2,
    "/v1/meetings/{meeting_id}": 1,
    "/v1/events": 3,
    "/v1/event-types": 0,
    "/v1/webhook-endpoints": 1,
    "/v1/webhook-endpoints/{endpoint_id}": 1,
    "/v1/webhook-endpoints/{endpoint_id}/deliveries": 2,
    "/v1/api-keys": 1,
    "/v1/api-keys/{key_id}": 1,
    "/v1/audit-log": 1,
    "/v1/calendar-subscriptions": 1,
    "/v1/calendar-subscriptions/{subscription_id}": 1,
    "/v1/networks/{network_id}/calendar.ics": 2,
    "/v1/working-groups/{group_id}/calendar.ics": 2,
    "/v1/networks/{network_id}/meeting-compliance": 3,
    "/v1/calendars/{token}.ics": 3,
    # A link's pages: the signature is checked without the database, then the meeting read.
    "/invitations/{token}": 1,
    "/invitations/{token}/meeting.ics": 1,
    "/invitations/{token}/reply": 1,
}
# Operators' and documents' routes: no record is read.
NOT_READS = {"/openapi.json", "/healthz", "/readyz", "/docs", "/redoc"}
QUERIES = {
    "/v1/networks/{network_id}/reports/activity": {"from": "2018-01-01", "to": "2026-12-31"},
    "/invitations/{token}/reply": {"answer": "accepted"},
}
SMALL, LARGE = 1, 50
# At LARGE a list must show more rows than at SMALL (at least this many), so that a statement
# per row would show as a difference.
# The change feed shows an event only once every transaction that began before it has ended,
# so inside the test's own transaction it shows none of this test's; its page size is exercised
# in tests/test_change_feed.py. Here it is read from its head (past anything earlier tests
# committed to this database), caught up at both limits, and its statement count compared.
ROWS_AFTER_COMMIT = {"/v1/events"}


async def _feed_head(client: AsyncClient) -> str:
    response = await client.get("/v1/events", params={"limit": 200})
    while "link" in response.headers:
        response = await client.get(response.headers["link"].split(">")[0][1:])
    return str(response.json()["next_cursor"])


@contextmanager
def counting(connection: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", count)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


async def test_every_read_and_list_route_issues_a_fixed_number_of_statements(
    app: Any, client: AsyncClient, session: Any, connection: Any, receiver: Receiver
) -> None:
    app.state.authenticator = Authenticator(get_settings().model_copy(update={"auth_cache_seconds": 3600}))
    ids = await read_world(client, session, receiver)
    reads = sorted(e.path for e in route_table(app) if "GET" in e.methods and e.path not in NOT_READS)
    assert sorted(BUDGET) == reads, "a GET route without a statement budget (or a budget for a route gone)"
    measured: dict[str, Any] = {}
    thin: dict[str, Any] = {}
    for path in reads:
        url, query = read_url(path, ids), QUERIES.get(path, {})
        if path in ROWS_AFTER_COMMIT:
            query = {**query, "after": await _feed_head(client)}
        with counting(connection.sync_connection) as statements:
            response = await client.get(url, params=query)
        assert response.status_code == 200, (path, response.text)
        body = response.json() if response.headers["content-type"].startswith("application/json") else None
        if isinstance(body, dict) and "items" in body and "next_cursor" in body:
            sizes = {}
            for limit in (SMALL, LARGE):
                with counting(connection.sync_connection) as statements:
                    page = await client.get(url, params={**query, "limit": limit})
                assert page.status_code == 200, (path, page.text)
                sizes[limit] = (len(statements), len(page.json()["items"]))
            if path not in ROWS_AFTER_COMMIT and not (sizes[SMALL][1] == SMALL and sizes[LARGE][1] >= ENOUGH):
                thin[path] = sizes
            measured[path] = sizes[SMALL][0] if sizes[SMALL][0] == sizes[LARGE][0] else sizes
        else:
            measured[path] = len(statements)
    assert not thin, f"lists without enough rows to compare page sizes: {thin}"
    assert measured == BUDGET


@pytest.fixture
async def own_connections(committed: Any) -> AsyncIterator[tuple[AsyncClient, list[str], list[str]]]:
    """The app on its own pooled connections (no test transaction), committed data, and what
    reaches PostgreSQL: SQLAlchemy's statements, and asyncpg's simple queries (where BEGIN,
    COMMIT and ROLLBACK go)."""
    database = get_database()
    await database.dispose()  # every connection from here on is a new one, logged
    statements: list[str] = []
    wire: list[str] = []

    def log(record: Any) -> None:
        wire.append(record.query)

    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(log)

    def on_checkin(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:
            dbapi_connection.driver_connection.remove_query_logger(log)

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append(statement)

    listeners = [
        (target, name, function)
        for engine in (database.engine.sync_engine, database.read_engine.sync_engine)
        for target, name, function in (
            (engine.pool, "checkout", on_checkout),
            (engine.pool, "checkin", on_checkin),
            (engine, "before_cursor_execute", count),
        )
    ]
    for target, name, function in listeners:
        event.listen(target, name, function)
    headers = {"Authorization": f"Bearer {await committed_admin_key()}"}
    app = served_app()
    app.state.authenticator = Authenticator(get_settings().model_copy(update={"auth_cache_seconds": 3600}))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t", headers=headers) as client:
        try:
            yield client, statements, wire
        finally:
            for target, name, function in listeners:
                event.remove(target, name, function)


async def test_a_read_is_one_statement_without_begin_or_rollback(own_connections: Any) -> None:
    client, statements, wire = own_connections
    created = await client.post(
        "/v1/entities", json={"acronym": "ROUNDTRIP", "name": "One round trip", "kind": "un_system"}
    )
    assert created.status_code == 201, created.text
    assert any(q.upper().startswith("BEGIN") for q in wire)  # a write's transaction is seen here
    for url in (f"/v1/entities/{created.json()['id']}", "/v1/entities?limit=50", "/v1/gcm/objectives"):
        statements.clear()
        wire.clear()
        response = await client.get(url)
        assert response.status_code == 200, response.text
        assert len(statements) == 1, (url, statements)
        assert not [q for q in wire if q.split()[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK")], (url, wire)


# Statements per creation, BEGIN and COMMIT aside (authentication cached): an entity is one,
# its insert (which finds a taken acronym) with its event and its audit entry; a membership reads
# the network and the entity and locks the pair, then inserts unless a period overlaps, with its
# event and its audit entry in the same statement. The relay's nudge, after commit, is not counted: on the
# in-memory broker it sends without asking the database, on RabbitMQ it is one read shared by
# the writes that commit meanwhile.
WRITE_BUDGET = {"/v1/entities": 1, "/v1/memberships": 2}


async def test_a_creation_is_a_fixed_number_of_statements_in_one_transaction(own_connections: Any) -> None:
    client, statements, wire = own_connections
    async with get_database().session() as session:
        network = await make_network(session)
    warm = await client.post("/v1/entities", json={"acronym": "WARM", "name": "Warm", "kind": "un_system"})
    assert warm.status_code == 201, warm.text  # authentication cached from here on

    async def create(path: str, body: dict[str, Any]) -> dict[str, Any]:
        statements.clear()
        wire.clear()
        created = await client.post(path, json=body)
        await settle_relay_nudges()
        assert created.status_code == 201, created.text
        measured[path] = len(statements)
        control = [q.split()[0].strip(";").upper() for q in wire]
        assert [q for q in control if q in ("BEGIN", "COMMIT", "ROLLBACK")] == ["BEGIN", "COMMIT"], (path, wire)
        return created.json()  # type: ignore[no-any-return]

    measured: dict[str, int] = {}
    entity = await create("/v1/entities", {"acronym": "COUNTED", "name": "Counted", "kind": "un_system"})
    body = {"network_id": str(network["id"]), "entity_id": entity["id"], "tier": "extended", "start_date": "2024-01-01"}
    await create("/v1/memberships", body)
    assert measured == WRITE_BUDGET, statements
