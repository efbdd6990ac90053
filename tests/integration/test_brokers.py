"""An actor round trip through a real broker, consumed by a real ``dramatiq`` worker process.

Runs when TEST_RABBITMQ_URL / TEST_REDIS_URL are set; under CI=true a missing URL fails.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dramatiq
import pytest
from sqlalchemy import select

from services.database import get_database
from services.events.models import Event
from services.settings import Settings
from tests.conftest import ROOT, TEST_DATABASE_URL
from tests.factories import make_entity
from tests.integration.required import required_url
from worker.broker import build_broker

pytestmark = pytest.mark.integration

BROKERS = {"rabbitmq": "TEST_RABBITMQ_URL", "redis": "TEST_REDIS_URL"}


def broker_url(kind: str) -> str:
    return required_url(BROKERS[kind], f"{kind} round trip")


def start_worker(url: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "BROKER_URL": url, "DATABASE_URL": TEST_DATABASE_URL, "LOG_LEVEL": "INFO"}
    dramatiq_cli = Path(sys.executable).with_name("dramatiq")
    return subprocess.Popen(
        [str(dramatiq_cli), "worker.main:setup", "--processes", "1", "--threads", "2"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.parametrize("kind", ["rabbitmq", "redis"])
async def test_relay_round_trip_through_a_real_broker_and_worker_process(kind, committed, tmp_path):
    url = broker_url(kind)
    database = get_database()
    async with database.session() as session:
        entity = await make_entity(session, acronym=f"RT-{kind}")
    async with database.read() as conn:
        event_id = await conn.scalar(select(Event.id).where(Event.subject_id == entity["id"]))

    real_broker = build_broker(Settings(broker_url=url))
    real_broker.declare_queue("default")
    worker = start_worker(url, tmp_path / "worker.log")
    try:
        message = dramatiq.Message(queue_name="default", actor_name="events.relay", args=(), kwargs={}, options={})
        await asyncio.to_thread(real_broker.enqueue, message)
        deadline = time.monotonic() + 60
        published = None
        while time.monotonic() < deadline and published is None:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            async with database.read() as conn:
                published = await conn.scalar(select(Event.published_at).where(Event.id == event_id))
            await asyncio.sleep(0.2)
        assert published is not None, (
            "the worker process did not relay the event:\n" + (tmp_path / "worker.log").read_text()
        )
    finally:
        worker.send_signal(signal.SIGTERM)  # the master forwards it to its worker processes
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        real_broker.close()
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()
