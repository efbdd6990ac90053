"""Fault test 8: the connection budget. A PostgreSQL of its own with ``max_connections`` = 50
(port 18135), four API replicas, two workers and two schedulers on it as one login role, under
write load; then someone else (a backup, a runaway script) takes every connection left and
holds it past DATABASE_IDLE_RELEASE_SECONDS, so the replicas' own connections go too.

The processes run with the settings docs/OPERATIONS.md ("Connection budget") gives for that
shape (DATABASE_POOL_SIZE 2, DATABASE_MAX_OVERFLOW 0: 34 connections at most, within the 42 it
leaves), checked from what each process says at start before any load."""

import asyncio
import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.faults.load import Load, query, summary
from tests.faults.stack import (
    API_PORTS,
    PRIMARY_PORT,
    Processes,
    ThrowawayPostgres,
    ThrowawayRabbit,
    admin_key,
    migrate,
    registry_env,
)

MAX_CONNECTIONS = 50
SUPERUSER_RESERVED = 3  # PostgreSQL's default superuser_reserved_connections
KEPT_FOR_PEOPLE = 5  # psql, backups, monitoring: the operations doc's example
AVAILABLE = MAX_CONNECTIONS - SUPERUSER_RESERVED - KEPT_FOR_PEOPLE  # 42
IDLE_RELEASE_SECONDS = 3  # DATABASE_IDLE_RELEASE_SECONDS (60 s by default): short, so the test is
ROLE = "registry"
BUDGETED = {"DATABASE_POOL_SIZE": "2", "DATABASE_MAX_OVERFLOW": "0"}  # P + O = 2, as the doc works out


@pytest.fixture
def small_postgres() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres(PRIMARY_PORT, f"max_connections={MAX_CONNECTIONS}")
    try:
        yield server
    finally:
        server.close()


def _ceilings(processes: Processes) -> dict[str, int]:
    """What each process said, as it started, it opens at most."""
    said = {}
    for name in processes.running:
        deadline = time.monotonic() + 30
        while not (found := re.search(r"at most (\d+) database connections", processes.log(name))):
            assert time.monotonic() < deadline, f"{name} did not say its ceiling:\n{processes.log(name)[-2000:]}"
            time.sleep(0.2)
        said[name] = int(found.group(1))
    return said


def _registry_connections(server: ThrowawayPostgres) -> int:
    return int(query(server.url(), "SELECT count(*) AS n FROM pg_stat_activity WHERE usename = $1", ROLE)[0]["n"])


class Hog:
    """Another client of the same role taking every connection PostgreSQL will give it, and
    each that comes free, until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connections: list[asyncpg.Connection] = []

    async def hold(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.connections.append(await asyncpg.connect(self.url, timeout=2))
            except (asyncpg.PostgresError, OSError):  # too many clients
                await asyncio.sleep(0.1)

    async def release(self) -> None:
        for connection in self.connections:
            with contextlib.suppress(Exception):
                await connection.close()


def _probe(port: int, key_header: dict[str, str], acronym: str) -> tuple[int, str, int]:
    """A replica's /readyz (status, its database check) and a write's status."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=key_header, timeout=15) as client:
        ready = client.get("/readyz")
        written = client.post("/v1/entities", json={"acronym": acronym, "name": acronym, "kind": "un_system"})
    return ready.status_code, ready.json().get("checks", {}).get("database", "?"), written.status_code


def test_fifty_connections_four_api_replicas_two_workers_two_schedulers(
    small_postgres: ThrowawayPostgres, rabbit: ThrowawayRabbit, tmp_path: Path
) -> None:
    query(small_postgres.url(), f"CREATE ROLE {ROLE} LOGIN")
    query(small_postgres.url(), f"CREATE DATABASE budget OWNER {ROLE}")
    url = f"postgresql://{ROLE}@127.0.0.1:{PRIMARY_PORT}/budget"
    env = {
        **registry_env(url, rabbit.url),
        **BUDGETED,
        "DATABASE_IDLE_RELEASE_SECONDS": str(IDLE_RELEASE_SECONDS),
        "DATABASE_POOL_TIMEOUT_SECONDS": "3",
    }
    migrate(env)
    key_header = {"Authorization": f"Bearer {admin_key(env)}"}
    processes = Processes(tmp_path, env)
    try:
        for n in (1, 2):
            processes.worker(f"worker-{n}")
            processes.scheduler(f"scheduler-{n}")
        processes.apis(tuple((f"api-{n + 1}", port) for n, port in enumerate(API_PORTS)))
        ceilings = _ceilings(processes)
        assert sum(ceilings.values()) <= AVAILABLE, f"the settings do not fit the budget: {ceilings}"

        load = Load(key_header=key_header, threads=8, reads=False, ports=API_PORTS, timeout=15).start()
        peak = 0
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            peak = max(peak, _registry_connections(small_postgres))
            time.sleep(0.5)
        outcomes = load.stop()

        # Someone else takes every connection left, and each the replicas release as they idle.
        hog = Hog(url)
        asyncio.run(hog.hold(IDLE_RELEASE_SECONDS + 2))
        starved = [_probe(port, key_header, f"STARVED{n}") for n, port in enumerate(API_PORTS)]
        asyncio.run(hog.release())
        # Then nobody holds them: every replica gets its share again by itself.
        recovered_after, refusing = None, list(API_PORTS)
        released = time.monotonic()
        while refusing and time.monotonic() - released < 30:
            after = {port: _probe(port, key_header, f"AFTER{port}{len(refusing)}") for port in refusing}
            refusing = [port for port, (ready, _, written) in after.items() if not (ready == 200 and written == 201)]
            recovered_after = time.monotonic() - released
            time.sleep(0.2) if refusing else None
    finally:
        processes.stop_all()

    server_errors = [o for o in outcomes if o.status is not None and o.status >= 500 and o.status != 503]
    unavailable = [o for o in outcomes if o.status == 503]
    print(
        f"\nconnection budget (max_connections {MAX_CONNECTIONS}, 4 API + 2 workers + 2 schedulers "
        f"with DATABASE_POOL_SIZE 2 "
        f"said at most {sum(ceilings.values())}, {AVAILABLE} to spend): {summary(outcomes)}; peak connections "
        f"{peak}; {len(hog.connections)} taken by another client: replicas (readyz, database, write) "
        f"{starved}; every replica writing and ready {recovered_after:.1f} s after they were "
        f"released, {len(refusing)} left refusing"
    )
    assert len(outcomes) > 50, "the load ran"
    assert server_errors == [] and all(o.status is not None for o in outcomes), summary(outcomes)
    assert all(o.retry_after and o.problem == "database-unavailable" for o in unavailable), unavailable[:3]
    assert unavailable == [], "within the budget nothing is refused"
    assert peak <= AVAILABLE
    # Truthful readiness: a replica that cannot write says it is not ready, and one that says
    # it is ready writes.
    assert all((ready == 200) == (written == 201) for ready, _, written in starved), starved
    assert all(written in (201, 503) for _, _, written in starved), starved
    assert any(written == 503 and database == "down" for _, database, written in starved), (
        "with every connection taken, a replica could not get its share",
        starved,
    )
    assert refusing == [], "0 replicas left refusing"
