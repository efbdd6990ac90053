"""Commit to receipt, for events a request writes and for events an actor writes (here: the
meeting reminders the scheduler finds due), with every process real and RabbitMQ between
them. Both kinds are relayed at once after their commit; neither waits for the scheduler's
next sweep."""

import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from sqlalchemy import select

from services.database import get_database
from services.events.models import Event
from tests.conftest import committed_admin_key
from tests.integration.stack import Stack, rabbitmq_url
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.integration

SWEEP_SECONDS = 5.0  # the default SCHEDULER_INTERVAL_SECONDS
SAMPLES = 8


def _summary(delays_ms: list[float]) -> str:
    ordered = sorted(delays_ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"median {statistics.median(ordered):.0f} ms, p99 {p99:.0f} ms, max {ordered[-1]:.0f} ms over {len(ordered)}"


async def _latencies(receiver: Receiver, event_type: str, record: str) -> list[float]:
    """Receipt minus the event's commit (its ``occurred_at``), per event of ``event_type``,
    matched by the record it is about."""
    async with get_database().read() as conn:
        rows = await conn.execute(select(Event.subject_id, Event.occurred_at).where(Event.type == event_type))
        occurred = {str(subject_id): at.timestamp() for subject_id, at in rows}
    delays = []
    for request in receiver.requests:
        body = orjson.loads(request["body"])
        if body["type"] == event_type:
            delays.append(max(0.0, request["received_at"] - occurred[body["data"][record]["id"]]) * 1000)
    return delays


async def test_events_from_requests_and_from_actors_arrive_as_promptly(committed, tmp_path, capsys):
    stack = Stack(tmp_path, rabbitmq_url())
    stack.env["SCHEDULER_INTERVAL_SECONDS"] = str(SWEEP_SECONDS)
    receiver = Receiver()
    try:
        key = await committed_admin_key()
        await asyncio.to_thread(stack.start_api)
        client = httpx.AsyncClient(base_url=stack.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10)
        created = await client.post(
            "/v1/webhook-endpoints",
            json={"url": receiver.url, "event_types": ["entity.created", "meeting.reminder_due"]},
        )
        assert created.status_code == 201, created.text
        stack.start_worker()
        stack.start_scheduler()
        warm = await client.post("/v1/entities", json={"acronym": "WARM", "name": "Warm-up", "kind": "un_system"})
        assert warm.status_code == 201, warm.text
        assert await asyncio.to_thread(receiver.first_arrived.wait, 60), "the worker never delivered"
        receiver.requests.clear()

        # Request-made: entities, one at a time.
        for i in range(SAMPLES):
            response = await client.post(
                "/v1/entities", json={"acronym": f"LAT{i}", "name": f"Latency {i}", "kind": "un_system"}
            )
            assert response.status_code == 201, response.text
            await asyncio.sleep(0.2)

        # Actor-made: meetings whose one reminder (a day before) falls due a few seconds from now.
        coordinator = response.json()
        network = await client.post(
            "/v1/networks",
            json={
                "name": "Latency network",
                "scope": "global",
                "established_on": "2018-12-09",
                "coordinator": {"entity_id": coordinator["id"], "mandate_relevance": "M.", "capacity": "C."},
            },
        )
        assert network.status_code == 201, network.text
        first_due = datetime.now(UTC) + timedelta(seconds=8)
        for i in range(SAMPLES):
            starts = first_due + timedelta(days=1, seconds=i * 1.3)
            meeting = await client.post(
                "/v1/meetings",
                json={
                    "network_id": network.json()["id"],
                    "kind": "other",
                    "title": f"Reminded {i}",
                    "starts_at": starts.isoformat(),
                    "ends_at": (starts + timedelta(hours=1)).isoformat(),
                    "time_zone": "UTC",
                    "location": "Geneva",
                    "reminder_minutes": [24 * 60],
                },
            )
            assert meeting.status_code == 201, meeting.text

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            types = [orjson.loads(r["body"])["type"] for r in receiver.requests]
            if types.count("meeting.reminder_due") >= SAMPLES and types.count("entity.created") >= SAMPLES:
                break
            await asyncio.sleep(0.2)
        by_request = await _latencies(receiver, "entity.created", "entity")
        by_actor = await _latencies(receiver, "meeting.reminder_due", "meeting")
        assert len(by_request) == len(by_actor) == SAMPLES
        with capsys.disabled():
            print(f"\ncommit-to-receipt, events written by a request: {_summary(by_request)}")
            print(f"commit-to-receipt, events written by an actor:  {_summary(by_actor)}")
        # Without the relay nudged after an actor's commit, its events would wait for the next
        # sweep: up to SWEEP_SECONDS more.
        assert statistics.median(by_actor) < SWEEP_SECONDS * 1000 / 2, by_actor
        await client.aclose()
    finally:
        receiver.close()
        stack.stop()
