"""The worker half on the in-memory broker: the relay, the nudge after commit, the scheduler."""

import asyncio

import dramatiq
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select, text

from services.database import get_database
from services.events.models import Event
from tests.conftest import committed_admin_key
from tests.factories import make_entity
from tests.served_app import served_app
from tests.stub_worker import broker, drain
from worker import scheduler
from worker.events import settle_relay_nudges


def _queued_relays() -> int:
    if "default" not in broker.queues:
        return 0
    messages = [dramatiq.Message.decode(raw) for raw in list(broker.queues["default"].queue)]
    return sum(1 for m in messages if m.actor_name == "events.relay")


async def _pending(database) -> int:
    async with database.read() as conn:
        return await conn.scalar(select(func.count()).select_from(Event).where(Event.published_at.is_(None)))


async def test_the_relay_actor_publishes_pending_events_in_a_worker(committed):
    database = get_database()
    async with database.session() as session:
        await make_entity(session, acronym="RELAYED")
    assert await _pending(database) == 1
    broker.flush_all()
    from worker.events import relay_events

    def send_twice() -> None:
        relay_events.send()
        relay_events.send()  # a repeat finds nothing left to do

    await drain(then=send_twice)
    assert await _pending(database) == 0


async def test_a_committed_write_nudges_the_relay(committed):
    broker.flush_all()
    auth = {"Authorization": f"Bearer {await committed_admin_key()}"}
    broker.flush_all()
    async with AsyncClient(transport=ASGITransport(app=served_app()), base_url="http://t", headers=auth) as client:
        response = await client.post("/v1/entities", json={"acronym": "NUDGE", "name": "Nudge", "kind": "un_system"})
        assert response.status_code == 201
        await settle_relay_nudges()  # made in the background, after the response
        assert _queued_relays() == 1
        refused = await client.post("/v1/entities", json={"acronym": "NUDGE", "name": "Again", "kind": "un_system"})
        assert refused.status_code == 409
        await settle_relay_nudges()
    assert _queued_relays() == 1  # nothing committed, nothing to relay


async def test_nudges_asked_for_during_a_nudge_are_made_once_after_it(monkeypatch):
    """Concurrent writes share a nudge, and every write's nudge starts after it asked (after
    its commit): one asked for while a nudge is under way gets the next one."""
    from worker import events

    log: list[str] = []
    release = asyncio.Event()

    async def nudge() -> None:
        log.append("nudge")
        await release.wait()

    monkeypatch.setattr(events, "nudge_relay", nudge)
    events.nudge_relay_soon()
    await asyncio.sleep(0)  # the first nudge is under way
    for _ in range(5):
        log.append("ask")
        events.nudge_relay_soon()
    release.set()
    await events.settle_relay_nudges()
    assert log == ["nudge", "ask", "ask", "ask", "ask", "ask", "nudge"]


async def test_the_scheduler_sweep_relays_events_whose_nudge_was_lost(committed, monkeypatch):
    monkeypatch.setattr(scheduler, "_relay_sent_at", float("-inf"))  # no sweep sent one just now
    database = get_database()
    async with database.session() as session:
        await make_entity(session, acronym="LOST")
    broker.flush_all()
    await scheduler.run_sweeps()
    assert _queued_relays() == 1
    await scheduler.run_sweeps()  # the worker is away: the next sweep does not add another
    assert _queued_relays() == 1


async def _advisory_holders(database) -> int:
    key = scheduler.LEADER_LOCK_KEY
    async with database.read() as conn:
        return await conn.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = :hi AND objid = :lo "
                # this database's schedulers only: other databases on the server have their own
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"hi": key >> 32, "lo": key & 0xFFFFFFFF},
        )


async def test_one_scheduler_leads_and_a_standby_takes_over(committed):
    database = get_database()
    sweeps: list[str] = []
    stops = {"a": asyncio.Event(), "b": asyncio.Event()}

    def start(name):
        async def sweep():
            sweeps.append(name)

        return asyncio.create_task(scheduler.run_scheduler(stops[name], interval=0.05, sweep=sweep))

    task_a = start("a")
    await asyncio.sleep(0.3)
    task_b = start("b")
    await asyncio.sleep(0.3)
    assert await _advisory_holders(database) == 1
    assert set(sweeps) == {"a"}  # only the leader swept
    stops["a"].set()
    await task_a
    sweeps.clear()
    await asyncio.sleep(0.4)
    assert await _advisory_holders(database) == 1
    assert set(sweeps) == {"b"}  # the standby took over
    stops["b"].set()
    await task_b
    assert await _advisory_holders(database) == 0


async def test_slow_sweeps_run_at_most_once_per_their_period(monkeypatch):
    calls: list[str] = []

    async def often():
        calls.append("often")

    async def hourly():
        calls.append("hourly")

    monkeypatch.setattr(scheduler, "SWEEPS", (scheduler.Sweep(often), scheduler.Sweep(hourly, every=3600)))
    last_run: dict[str, float] = {}
    for _ in range(3):
        await scheduler.run_sweeps(last_run)
    assert calls.count("often") == 3 and calls.count("hourly") == 1
    assert [s.run.__name__ for s in scheduler.SWEEPS] == ["often", "hourly"]


def test_the_api_process_starts_no_worker_thread_on_import():
    """Importing the app (and with it the broker the API sends through) starts nothing: the
    actors' time-limit thread runs only where actors run."""
    import subprocess
    import sys

    code = "import threading, api.app, worker.main; print(sorted(t.name for t in threading.enumerate()))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "['MainThread']"


async def test_one_relay_message_is_claimed_until_the_relay_starts(connection):
    """After each write's commit the API asks whether to send a relay message: only the
    first asker sends one, until the relay starts (and releases the mark)."""
    from services.delivery.relay import claim_relay_message, release_relay_message

    assert await claim_relay_message(connection, hold_seconds=30) is True
    assert await claim_relay_message(connection, hold_seconds=30) is False
    assert await claim_relay_message(connection, hold_seconds=30) is False
    await release_relay_message(connection)
    assert await claim_relay_message(connection, hold_seconds=30) is True


async def test_a_relay_that_meets_a_database_outage_ends_quietly_and_the_sweep_relays_later(committed, caplog):
    """No broker retries and nothing dead-lettered for an outage: one warning; the events
    stay pending, and the relay after the database answers again publishes them."""
    from services import database as databases
    from services.database import create_database
    from services.settings import get_settings
    from tests.test_actor_statement_counts import run_actor

    database = get_database()
    async with database.session() as session:
        await make_entity(session, acronym="OUTAGE")
    assert await _pending(database) >= 1
    loop = asyncio.get_running_loop()
    healthy = databases._databases[loop]
    databases._databases[loop] = create_database(get_settings(), url="postgresql://postgres@127.0.0.1:18149/registry")
    try:
        with caplog.at_level("WARNING", logger="worker.events"):
            await run_actor("events.relay")  # raises nothing: the message is done, not retried
    finally:
        await databases._databases[loop].dispose()
        databases._databases[loop] = healthy
    warned = [r.getMessage() for r in caplog.records if r.name == "worker.events"]
    assert len(warned) == 1 and "the relay met a database outage" in warned[0], warned
    assert await _pending(database) >= 1
    await run_actor("events.relay")
    assert await _pending(database) == 0
    broker.flush_all()
