"""Faults on the way from a commit to a webhook, with every process real and RabbitMQ in
between: a worker killed mid-delivery, the broker stopped while writes go on, two
schedulers at once. Each time the receiver ends with every expected webhook-id, and any
repeat is a retry of the same id."""

import asyncio
import statistics
import subprocess
import time
from collections import Counter

import httpx
import pytest
from sqlalchemy import select

from services.database import get_database
from services.webhooks.models import WebhookDelivery
from tests.conftest import committed_admin_key
from tests.integration.required import required_command
from tests.integration.stack import Stack, rabbitmq_url
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.integration


@pytest.fixture
async def stack(committed, tmp_path):
    s = Stack(tmp_path, rabbitmq_url())
    yield s
    s.stop()


async def _setup(stack: Stack, receiver: Receiver) -> httpx.AsyncClient:
    key = await committed_admin_key()
    await asyncio.to_thread(stack.start_api)
    client = httpx.AsyncClient(base_url=stack.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    response = await client.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["entity.created"]})
    assert response.status_code == 201, response.text
    return client


async def _create_entities(client: httpx.AsyncClient, prefix: str, count: int) -> list[float]:
    committed_at = []
    for i in range(count):
        response = await client.post(
            "/v1/entities", json={"acronym": f"{prefix}{i}", "name": f"{prefix} {i}", "kind": "un_system"}
        )
        assert response.status_code == 201, response.text
        committed_at.append(time.time())  # the response follows the commit
    return committed_at


async def _expected_ids() -> set[str]:
    async with get_database().read() as conn:
        return {"msg_" + d.hex for d in (await conn.scalars(select(WebhookDelivery.id))).all()}


async def _wait_until_all_received(receiver: Receiver, stack: Stack, expected: int, within: float = 90) -> set[str]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        ids = await _expected_ids()
        async with get_database().read() as conn:
            done = (await conn.scalars(select(WebhookDelivery.status))).all()
        if len(ids) == expected and set(receiver.ids()) >= ids and all(s == "succeeded" for s in done):
            return ids
        await asyncio.sleep(0.3)
    logs = "\n".join(f"--- {name}\n{stack.log(name)[-3000:]}" for name in stack.processes)
    raise AssertionError(f"received {Counter(receiver.ids())}, expected {expected} deliveries\n{logs}")


def _assert_exactly_the_expected(receiver: Receiver, ids: set[str]) -> Counter[str]:
    received = Counter(receiver.ids())
    assert set(received) == ids, "every expected webhook-id arrives, and nothing else"
    return received


async def test_a_worker_killed_mid_delivery_loses_nothing(stack, tmp_path):
    receiver = Receiver(stall_first_seconds=4)
    try:
        client = await _setup(stack, receiver)
        stack.start_worker("worker-1")
        stack.start_scheduler()
        await _create_entities(client, "KILL", 5)
        assert await asyncio.to_thread(receiver.first_arrived.wait, 30), stack.log("worker-1")
        stack.kill("worker-1")  # SIGKILL while it waits on the receiver
        stack.start_worker("worker-2")
        ids = await _wait_until_all_received(receiver, stack, expected=5)
        received = _assert_exactly_the_expected(receiver, ids)
        assert max(received.values()) <= 2  # the interrupted one again, under its own id
    finally:
        receiver.close()


async def test_writes_while_the_broker_is_down_are_delivered_when_it_returns(stack):
    rabbitmqctl = required_command("rabbitmqctl", "stop and start the broker")
    receiver = Receiver()
    try:
        client = await _setup(stack, receiver)
        stack.start_worker()
        stack.start_scheduler()
        await asyncio.to_thread(subprocess.run, [rabbitmqctl, "stop_app"], check=True, capture_output=True, timeout=60)
        try:
            await _create_entities(client, "DOWN", 4)  # the API keeps accepting writes
        finally:
            await asyncio.to_thread(
                subprocess.run, [rabbitmqctl, "start_app"], check=True, capture_output=True, timeout=120
            )
        ids = await _wait_until_all_received(receiver, stack, expected=4, within=120)
        _assert_exactly_the_expected(receiver, ids)
    finally:
        receiver.close()


async def test_two_schedulers_never_double_fire(stack, capsys):
    receiver = Receiver()
    try:
        client = await _setup(stack, receiver)
        for n in (1, 2):
            stack.start_worker(f"worker-{n}")
            stack.start_scheduler(f"scheduler-{n}")
        await _create_entities(client, "WARM", 1)  # workers and schedulers up before measuring
        await _wait_until_all_received(receiver, stack, expected=1)
        committed_at = await _create_entities(client, "TWO", 20)
        ids = await _wait_until_all_received(receiver, stack, expected=21)
        received = _assert_exactly_the_expected(receiver, ids)
        assert set(received.values()) == {1}  # no failures, so exactly once each
        # Commit-to-receipt delay, for the record.
        arrivals = sorted(r["received_at"] for r in receiver.requests)[1:]
        delays = sorted(max(0.0, a - c) * 1000 for a, c in zip(arrivals, committed_at, strict=True))
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        with capsys.disabled():
            print(
                f"\ncommit-to-webhook delay over {len(delays)} deliveries: median {statistics.median(delays):.0f} ms, p99 {p99:.0f} ms"
            )
    finally:
        receiver.close()
