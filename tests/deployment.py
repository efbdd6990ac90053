"""What the deployment tests share: a database of their own populated through the real API
(`registry migrate` with the demo data, `registry create-admin-key`, then writes to a
`registry serve` process), and the evidence compared after a restore or a downgrade: the
row count of every table, the audit log's exact contents, and what the API serves."""

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.conftest import ROOT, database_url, recreate_database
from tests.integration.stack import free_port

BIN = Path(sys.executable).parent
# Everything the API lists, read item by item (an item's URL is the list's URL + its id).
COLLECTIONS = (
    "/v1/entities",
    "/v1/networks",
    "/v1/memberships",
    "/v1/working-groups",
    "/v1/mous",
    "/v1/meetings",
    "/v1/reviews",
    "/v1/webhook-endpoints",
    "/v1/api-keys",
)


def environment(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "BROKER_URL": "",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_BURST": "100000",
        "WEBHOOK_ALLOWED_PRIVATE_HOSTS": '["127.0.0.1"]',
    }


def registry(url: str, *args: str, **extra: str) -> str:
    """Run the `registry` CLI on the database at ``url``; its output."""
    result = subprocess.run(
        [str(BIN / "registry"), *args],
        env={**environment(url), **extra},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"registry {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def fresh_database(name: str) -> str:
    asyncio.run(recreate_database(name))
    return database_url(name)


def drop_database(name: str) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(database_url("postgres"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def admin_key(url: str) -> str:
    out = registry(url, "create-admin-key", "--name", "deployment test")
    match = re.search(r"mnr_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", out)
    assert match, out
    return match.group(0)


@contextmanager
def served(url: str, key: str) -> Iterator[httpx.Client]:
    """`registry serve` on the database at ``url``; a client holding ``key``."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "registry"), "serve"],
        env={**environment(url), "PORT": str(port)},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "registry serve did not start"
            time.sleep(0.2)
        yield client
        client.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def populate(client: httpx.Client) -> None:
    """Writes of several kinds on top of the demo data, each with its event and audit entry."""
    network = client.get("/v1/networks", params={"scope": "global"}).json()["items"][0]
    created = []
    for i in range(3):
        response = client.post(
            "/v1/entities",
            json={"acronym": f"DEPLOY{i}", "name": f"Deployment test entity {i}", "kind": "un_system"},
        )
        assert response.status_code == 201, response.text
        created.append(response)
    first = created[0]
    patched = client.patch(
        f"/v1/entities/{first.json()['id']}",
        json={"name": "Deployment test entity, renamed"},
        headers={"If-Match": first.headers["etag"]},
    )
    assert patched.status_code == 200, patched.text
    endpoint = client.post(
        "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hooks", "event_types": ["entity.*"]}
    )
    assert endpoint.status_code == 201, endpoint.text
    meeting = client.post(
        "/v1/meetings",
        json={
            "network_id": network["id"],
            "kind": "extended_membership",
            "title": "Deployment test meeting",
            "starts_at": "2030-05-04T08:00:00Z",
            "ends_at": "2030-05-04T16:00:00Z",
            "time_zone": "Europe/Zurich",
            "location": "Geneva",
            "invitees": [{"name": "Stakeholder forum", "email": "forum@stakeholders.example"}],
        },
    )
    assert meeting.status_code == 201, meeting.text


def served_records(client: httpx.Client) -> dict[str, tuple[int, str | None, bytes]]:
    """Every record the API lists, read one by one: status, ETag and body by URL; and the
    first page of the audit log."""
    seen: dict[str, tuple[int, str | None, bytes]] = {}
    for collection in COLLECTIONS:
        params: dict[str, Any] = {"limit": 200}
        while True:
            page = client.get(collection, params=params)
            assert page.status_code == 200, (collection, page.text)
            for item in page.json()["items"]:
                response = client.get(f"{collection}/{item['id']}")
                seen[f"{collection}/{item['id']}"] = (
                    response.status_code,
                    response.headers.get("etag"),
                    response.content,
                )
            if not page.json().get("next_cursor"):
                break
            params["cursor"] = page.json()["next_cursor"]
    response = client.get("/v1/audit-log?limit=200")
    seen["/v1/audit-log?limit=200"] = (response.status_code, response.headers.get("etag"), response.content)
    return seen


def feed_event_ids(client: httpx.Client) -> list[str]:
    """The ids of every event the change feed serves, following its cursor to the end."""
    ids: list[str] = []
    params: dict[str, Any] = {"limit": 200}
    while True:
        page = client.get("/v1/events", params=params).json()
        ids += [item["id"] for item in page["items"]]
        if not page["items"]:
            return ids
        params["after"] = page["next_cursor"]


async def _table_counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        return {t["tablename"]: await conn.fetchval(f'SELECT count(*) FROM "{t["tablename"]}"') for t in tables}
    finally:
        await conn.close()


def table_counts(url: str) -> dict[str, int]:
    """The row count of every table in the public schema."""
    return asyncio.run(_table_counts(url))


async def _fetch(url: str, query: str) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


def fetch(url: str, query: str) -> Any:
    return asyncio.run(_fetch(url, query))


# Every audit entry, every column, in order: equal digests mean an identical audit log.
AUDIT_DIGEST = "SELECT count(*) || ':' || md5(coalesce(string_agg(a::text, E'\\n' ORDER BY a.id), '')) FROM audit_log a"
# Every event id, in the change feed's order.
EVENT_IDS = "SELECT coalesce(array_agg(id::text ORDER BY transaction_id, position), '{}') FROM events"
