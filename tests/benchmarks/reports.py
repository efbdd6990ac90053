"""How long the indicators and the activity report take on a large history, on real PostgreSQL.

    make bench-reports                   # 100,000 events, 20 runs of each
    BENCH_EVENTS=1000000 make bench-reports

It loads the demo network (the real services: members, working groups, MoUs, meetings,
reviews) into a database of its own (`registry_bench_reports` on DATABASE_URL's server, or
the embedded one), then adds a synthetic history in bulk: BENCH_EVENTS events over two
years, 400 more members joining, leaving and changing tier, 300 held meetings with 20
invitees each, and a webhook and an e-mail delivery for every fifth event. It times, on one
connection, median and p95 over BENCH_RUNS runs:

- the baseline: one indexed query that reads the period's events of the network
  (`count(*)` by type), the least any report from the event history must do;
- the indicators for one date (`services.indicators.repository.indicators`);
- the activity report for the last twelve months (`services.reports.service.activity_report`),
  which computes the indicators twice (start and end) and every section;
- the report rendered as HTML and as a CSV zip.

and prints each with its ratio to the baseline.
"""

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import text

from tests.benchmarks.generate import server_url, with_database

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EVENTS = int(os.environ.get("BENCH_EVENTS", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "20"))
DATABASE = "registry_bench_reports"
EVENT_TYPES = (
    "membership.created",
    "membership.updated",
    "working_group.updated",
    "mou.updated",
    "meeting.updated",
    "meeting.reminder_due",
    "entity.updated",
    "recommendation.updated",
)


async def prepare(url: str) -> tuple[str, uuid.UUID]:
    admin = await asyncpg.connect(with_database(url, "postgres").replace("+asyncpg", ""))
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    await admin.close()
    bench_url = with_database(url, DATABASE)
    env = {**os.environ, "DATABASE_URL": bench_url, "LOAD_DEMO_DATA": "true", "LOG_LEVEL": "WARNING"}
    await asyncio.to_thread(subprocess.run, [str(BIN / "registry"), "migrate"], env=env, check=True, cwd=ROOT)
    conn = await asyncpg.connect(bench_url.replace("+asyncpg", ""))
    try:
        network_id = await conn.fetchval("SELECT id FROM networks WHERE scope = 'global'")
        have = await conn.fetchval("SELECT count(*) FROM events WHERE actor = 'bench'")
        if have < EVENTS:
            await _load_history(conn, network_id, EVENTS - have)
    finally:
        await conn.close()
    return bench_url, network_id


async def _load_history(conn: asyncpg.Connection, network_id: uuid.UUID, events: int) -> None:
    from services.ids import uuid7

    rng = random.Random(7)
    now = datetime.now(UTC)
    print(f"loading {events:,} events and their history ...", flush=True)
    entity_ids = [uuid7() for _ in range(400)]
    await conn.copy_records_to_table(
        "entities",
        records=[(e, f"BR{i}", f"Bench entity {i}", "un_system") for i, e in enumerate(entity_ids)],
        columns=["id", "acronym", "name", "kind"],
    )
    memberships = []
    for entity_id in entity_ids:
        start = (now - timedelta(days=rng.randrange(30, 2000))).date()
        end = start + timedelta(days=rng.randrange(100, 900)) if rng.random() < 0.3 else None
        memberships.append((uuid7(), network_id, entity_id, "extended", start, end))
    await conn.copy_records_to_table(
        "memberships",
        records=memberships,
        columns=["id", "network_id", "entity_id", "tier", "start_date", "end_date"],
    )
    meetings, invitees = [], []
    for n in range(300):
        starts = now - timedelta(days=rng.randrange(1, 730), hours=rng.randrange(0, 12))
        meeting_id = uuid7()
        meetings.append(
            (
                meeting_id,
                network_id,
                "executive_committee" if n % 3 else "extended_membership",
                f"Bench meeting {n}",
                starts,
                starts + timedelta(hours=2),
                "UTC",
                "Geneva",
                "held",
                [1440],
            )
        )
        for entity_id in rng.sample(entity_ids, 20):
            invitees.append((uuid7(), meeting_id, entity_id, rng.random() < 0.7))
    await conn.copy_records_to_table(
        "meetings",
        records=meetings,
        columns=[
            "id",
            "network_id",
            "kind",
            "title",
            "starts_at",
            "ends_at",
            "time_zone",
            "location",
            "status",
            "reminder_minutes",
        ],
    )
    await conn.copy_records_to_table(
        "meeting_invitees", records=invitees, columns=["id", "meeting_id", "entity_id", "attended"]
    )
    endpoint_id = uuid7()
    await conn.execute(
        "INSERT INTO webhook_endpoints (id, url, secret, secrets_key_id, event_types, owner_principal_id, owner_role)"
        " VALUES ($1, 'https://hooks.example.org/registry', 'never delivered', 'none', '{*}', 'bench', 'admin')",
        endpoint_id,
    )
    records, deliveries, mails = [], [], []
    for n in range(events):
        event_id = uuid7()
        at = now - timedelta(seconds=rng.randrange(0, 730 * 86400))
        records.append(
            (event_id, rng.choice(EVENT_TYPES), "bench", rng.choice(entity_ids), network_id, "bench", "{}", at)
        )
        if n % 5 == 0:
            status = rng.choice(("succeeded", "succeeded", "succeeded", "failed"))
            deliveries.append((uuid7(), event_id, endpoint_id, status, 1, at))
            mails.append((uuid7(), event_id, "focal@example.org", "reminder", status, 1, at))
    await conn.copy_records_to_table(
        "events",
        records=records,
        columns=["id", "type", "subject_type", "subject_id", "network_id", "actor", "payload", "occurred_at"],
    )
    await conn.copy_records_to_table(
        "webhook_deliveries",
        records=deliveries,
        columns=["id", "event_id", "endpoint_id", "status", "attempts", "created_at"],
    )
    await conn.copy_records_to_table(
        "email_deliveries",
        records=mails,
        columns=["id", "event_id", "recipient", "kind", "status", "attempts", "created_at"],
    )
    await conn.execute("UPDATE events SET published_at = occurred_at WHERE published_at IS NULL")
    await conn.execute("VACUUM ANALYZE")  # as autovacuum would have by now: index-only scans


async def timed(runs: int, work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    await work()  # warm up: plans and caches
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    return statistics.median(seconds) * 1000, seconds[max(0, int(len(seconds) * 0.95) - 1)] * 1000


async def measure(bench_url: str, network_id: uuid.UUID) -> None:
    from services.database import get_database
    from services.indicators.repository import indicators
    from services.reports.csv_zip import report_zip
    from services.reports.html import report_html
    from services.reports.service import activity_report
    from services.settings import Settings, use_settings

    use_settings(Settings(database_url=bench_url, load_demo_data=False))
    end = date.today()
    start = end - timedelta(days=365)
    async with get_database().read() as conn:
        events = await conn.scalar(text("SELECT count(*) FROM events WHERE network_id = :n"), {"n": network_id})
        baseline_sql = text(
            "SELECT type, count(*) FROM events WHERE network_id = :n"
            " AND occurred_at >= :start AND occurred_at < :end GROUP BY type"
        )

        async def baseline() -> object:
            return (
                await conn.execute(baseline_sql, {"n": network_id, "start": start, "end": end + timedelta(days=1)})
            ).all()

        async def report() -> dict:
            return await activity_report(conn, network_id=network_id, start=start, end=end)

        report_once = await report()
        results = {
            "baseline: the year's events by type (one query)": await timed(RUNS, baseline),
            "indicators as of one date": await timed(RUNS, lambda: indicators(conn, network_id, as_of=end)),
            "activity report, 12 months (JSON data)": await timed(RUNS, report),
            "  rendered as HTML": await timed(RUNS, lambda: asyncio.to_thread(report_html, report_once)),
            "  rendered as CSV zip": await timed(RUNS, lambda: asyncio.to_thread(report_zip, report_once)),
        }
    await get_database().dispose()
    print(f"\n{events:,} events on the network; {RUNS} runs each on one connection\n")
    base = results["baseline: the year's events by type (one query)"][0]
    print(f"{'':52} {'median ms':>10} {'p95 ms':>8} {'x baseline':>11}")
    for name, (median, p95) in results.items():
        print(f"{name:52} {median:10.1f} {p95:8.1f} {median / base:11.1f}")


def main() -> None:
    url = server_url()
    bench_url, network_id = asyncio.run(prepare(url))
    asyncio.run(measure(bench_url, network_id))


if __name__ == "__main__":
    main()
