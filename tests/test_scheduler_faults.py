"""The scheduler under faults, on real PostgreSQL: leadership that cannot split when the
leader's lock connection dies mid-sweep, and one broker message per due delivery."""

import asyncio
import itertools
import json
import time
import uuid
from datetime import timedelta

import dramatiq
import pytest
from sqlalchemy import select, text

from services.clock import clock
from services.database import get_database
from services.delivery.engine import lease
from services.delivery.leases import SENDING_HOLD_SECONDS, confirm_queued
from services.delivery.relay import publish_batch
from services.delivery.senders import WEBHOOK
from services.delivery_status import DeliveryStatus
from services.events.models import Event
from services.scheduling.models import SchedulerSweep
from services.scheduling.status import operational_status
from services.settings import get_settings
from services.unit_of_work import autocommit_write, unit_of_work
from services.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.stub_worker import broker
from worker import scheduler


async def _leader_pid(database) -> int | None:
    key = scheduler.LEADER_LOCK_KEY
    async with database.read() as conn:
        return await conn.scalar(
            # advisory locks are per database: another test's scheduler may lead in its own
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = :hi AND objid = :lo "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"hi": key >> 32, "lo": key & 0xFFFFFFFF},
        )


def _overlaps(spans: list[tuple[str, float, float]]) -> list[tuple]:
    ordered = sorted(spans, key=lambda s: s[1])
    return [(a, b) for a, b in itertools.pairwise(ordered) if b[1] < a[2]]


async def test_a_leader_whose_lock_connection_dies_mid_sweep_never_overlaps_the_next(committed):
    """Kill the leader's lock connection three times while it sweeps: the standby takes over,
    but only after the old leader's sweep ended; the old leader never sweeps without the lock."""
    database = get_database()
    spans: list[tuple[str, float, float]] = []
    stops = {name: asyncio.Event() for name in ("a", "b")}

    def slow_sweep(name: str):
        async def sweep() -> None:
            started = time.monotonic()
            await asyncio.sleep(0.4)
            spans.append((name, started, time.monotonic()))

        return sweep

    tasks = [
        asyncio.create_task(
            scheduler.run_scheduler(
                stop, interval=0.05, sweep=slow_sweep(name), sweep_timeout=1.0, scheduler_id=f"test-{name}"
            )
        )
        for name, stop in stops.items()
    ]
    leaders: list[str] = []
    try:
        for _ in range(3):
            deadline = time.monotonic() + 10
            while (pid := await _leader_pid(database)) is None or not spans:
                assert time.monotonic() < deadline, "nobody leads"
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.15)  # mid-sweep
            async with database.read() as conn:
                assert await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            swept = len(spans)
            deadline = time.monotonic() + 10
            while len(spans) < swept + 3:
                assert time.monotonic() < deadline, "sweeping did not resume"
                await asyncio.sleep(0.05)
            leaders.append(spans[-1][0])
    finally:
        for stop in stops.values():
            stop.set()
        await asyncio.gather(*tasks)
    assert _overlaps(spans) == []
    async with database.read() as conn:
        logged = (
            await conn.execute(
                select(SchedulerSweep.scheduler_id, SchedulerSweep.started_at, SchedulerSweep.finished_at)
                .where(SchedulerSweep.scheduler_id.in_(["test-a", "test-b"]))
                .order_by(SchedulerSweep.started_at)
            )
        ).all()
        await conn.execute(text("DELETE FROM scheduler_sweeps WHERE scheduler_id IN ('test-a', 'test-b')"))
    # the log agrees: each sweep started after the one before it had finished
    finished = [row for row in logged if row.finished_at is not None]
    assert len(finished) >= len(spans) - 2
    for before, after in itertools.pairwise(logged):
        # an unfinished sweep was cut off one sweep_timeout after it started
        ended = before.finished_at or before.started_at + timedelta(seconds=1.0)
        assert after.started_at >= ended, (before, after)
    print(f"\nsweeps: {len(spans)}, logged: {len(logged)}, leaders after each kill: {leaders}, overlaps: 0")


async def test_a_sweep_whose_end_could_not_be_logged_is_logged_before_the_next_starts(committed):
    """The database goes away between a sweep's end and the statement logging it: the
    scheduler logs that end, with the time it ended, before its next sweep, so the log never
    shows its own sweep running on into the next one (a restart under load once did)."""
    database = get_database()
    await database.engine.dispose()  # from here, the write pool's connections are the scheduler's
    async with database.read() as conn:
        since = await conn.scalar(text("SELECT clock_timestamp()"))
    sweeps: list[float] = []

    async def sweep() -> None:
        sweeps.append(time.time())
        if len(sweeps) > 1:
            return
        async with database.read() as conn:  # the scheduler's lock and pooled connections die
            # Chosen first, then ended: in one WHERE, PostgreSQL may call pg_terminate_backend
            # before it checks the database, and end another test's connections (it once ended
            # the other xdist process's `registry migrate`).
            mine = text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_start >= :since"
            )
            killed = list(await conn.scalars(mine, {"since": since}))
            for pid in killed:
                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(250):  # gone within 5 s
                gone = text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = ANY(:pids)")
                if await conn.scalar(gone, {"pids": killed}):
                    break
                await asyncio.sleep(0.02)
        assert len(killed) >= 2, killed

    stop = asyncio.Event()
    task = asyncio.create_task(
        scheduler.run_scheduler(stop, interval=0.05, sweep=sweep, sweep_timeout=5.0, scheduler_id="test-late")
    )
    try:
        deadline = time.monotonic() + 15
        while len(sweeps) < 3:
            assert time.monotonic() < deadline, f"sweeping did not resume: {len(sweeps)} sweep(s)"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    async with database.read() as conn:
        logged = (
            await conn.execute(
                select(SchedulerSweep.started_at, SchedulerSweep.finished_at)
                .where(SchedulerSweep.scheduler_id == "test-late")
                .order_by(SchedulerSweep.started_at)
            )
        ).all()
    assert len(logged) == len(sweeps)
    assert all(row.finished_at is not None for row in logged), logged
    for before, after in itertools.pairwise(logged):
        assert before.started_at <= before.finished_at <= after.started_at, (before, after)
    # the late end is the sweep's own end, not the time it was logged
    assert logged[0].finished_at.timestamp() - sweeps[0] < 1.0


def _endpoint(session, url: str, event_types: list[str]) -> WebhookEndpoint:
    """An endpoint (never delivered to: no worker runs here), added to ``session``."""
    endpoint = WebhookEndpoint(
        url=url,
        secret="never delivered",
        secrets_key_id="none",
        event_types=event_types,
        owner_principal_id="key:test",
        owner_role="admin",
    )
    session.add(endpoint)
    return endpoint


async def _pending_deliveries(database, count: int) -> list[uuid.UUID]:
    async with database.session() as session:
        endpoint = _endpoint(session, "https://example.org/hook", ["*"])
        await session.flush()
        ids = []
        for _ in range(count):
            event = Event(type="entity.updated", subject_type="entity", subject_id=uuid.uuid4(), actor="t", payload={})
            session.add(event)
            await session.flush()
            delivery = WebhookDelivery(event_id=event.id, endpoint_id=endpoint.id)
            session.add(delivery)
            await session.flush()
            ids.append(delivery.id)
    return ids


def _queued_deliveries() -> list[str]:
    if "default" not in broker.queues:
        return []
    """The delivery ids the queued messages carry (a message carries a batch), each as often
    as it is queued."""
    messages = [dramatiq.Message.decode(raw) for raw in list(broker.queues["default"].queue)]
    return [i for m in messages if m.actor_name == "webhooks.deliver" for i in m.args[0]]


async def test_the_queue_holds_each_due_delivery_once_while_no_worker_runs(committed):
    database = get_database()
    broker.flush_all()
    ids = await _pending_deliveries(database, 5)
    for _ in range(4):  # four sweeps with no worker consuming
        await scheduler.sweep_due_deliveries()
    assert sorted(_queued_deliveries()) == sorted(str(i) for i in ids)
    async with database.read() as conn:
        backlog = (await operational_status(conn))["deliveries"]["webhook"]
    assert backlog["due"] == 5 and backlog["oldest_due_seconds"] >= 0
    # a worker takes one message: the row is leased and its queue mark cleared
    assert [job.attempts for job in await lease(database, WEBHOOK, [ids[0]])] == [0]
    async with database.read() as conn:
        marks = dict((await conn.execute(select(WebhookDelivery.id, WebhookDelivery.queued_until))).all())
    assert marks[ids[0]] is None and all(marks[i] is not None for i in ids[1:])
    # a message for a row another worker holds is spent without leaving the row marked
    assert await lease(database, WEBHOOK, [ids[0]]) == []
    # the lease lapses (the worker died): the next sweep sends exactly one more, and counts it
    async with database.session() as session:
        await session.execute(
            WebhookDelivery.__table__.update()
            .where(WebhookDelivery.id == ids[0])
            .values(lease_until=text("now() - interval '1 second'"))
        )
    broker.flush_all()
    await scheduler.sweep_due_deliveries()
    await scheduler.sweep_due_deliveries()
    assert _queued_deliveries() == [str(ids[0])]
    async with database.read() as conn:
        counts = dict((await conn.execute(select(WebhookDelivery.id, WebhookDelivery.queued_count))).all())
        done = await conn.scalar(
            select(WebhookDelivery.status).where(WebhookDelivery.id == ids[1], WebhookDelivery.queued_count == 1)
        )
    assert counts[ids[0]] == 2 and all(counts[i] == 1 for i in ids[1:])
    assert done == DeliveryStatus.PENDING
    broker.flush_all()


async def test_a_relay_that_dies_before_the_broker_has_its_messages_holds_its_deliveries_seconds_only(committed):
    """The relay commits new deliveries marked queued, then dies before the broker has their
    messages: the first sweep after SENDING_HOLD_SECONDS sends them (not the long hold), and
    once the broker has them, their marks hold DELIVERY_QUEUE_HOLD_SECONDS."""
    database = get_database()
    broker.flush_all()
    async with database.session() as session:
        for n in range(2):  # two endpoints wanting the one event
            _endpoint(session, f"https://example.org/hook/{n}", ["entity.updated"])
        session.add(Event(type="entity.updated", subject_type="entity", subject_id=uuid.uuid4(), actor="t", payload={}))
    async with unit_of_work() as session:
        published = await publish_batch(session)  # committed; the process dies before sending
    ids = sorted(str(delivery_id) for delivery_id, _ in published.webhook_deliveries)
    assert len(ids) == 2

    await scheduler.sweep_due_deliveries()
    assert _queued_deliveries() == []  # the sender may yet send them: no second message
    later = clock.now() + timedelta(seconds=SENDING_HOLD_SECONDS + 1)
    clock.freeze(later)
    await scheduler.sweep_due_deliveries()
    assert sorted(_queued_deliveries()) == ids  # the dead sender's deliveries, sent by the sweep

    async with database.read() as conn:
        marks = (await conn.execute(select(WebhookDelivery.queued_until))).scalars().all()
    hold = timedelta(seconds=get_settings().delivery_queue_hold_seconds)
    assert all(mark == later + hold for mark in marks), marks  # the broker has them: the long hold
    clock.freeze(later + timedelta(seconds=SENDING_HOLD_SECONDS + 1))
    await scheduler.sweep_due_deliveries()
    assert sorted(_queued_deliveries()) == ids  # and no second message while it holds

    # A worker that took a message before its mark was confirmed keeps the row unmarked.
    taken = uuid.UUID(ids[0])
    assert [job.delivery_id for job in await lease(database, WEBHOOK, [taken])] == [taken]
    async with autocommit_write() as conn:
        await confirm_queued(conn, WebhookDelivery, [taken], now=clock.now(), hold_seconds=600)
    async with database.read() as conn:
        assert await conn.scalar(select(WebhookDelivery.queued_until).where(WebhookDelivery.id == taken)) is None
    broker.flush_all()


def test_registry_status_prints_the_backlog_and_the_last_sweep(migrated_database, capsys):
    from api.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["status", "--json"])
    status = json.loads(capsys.readouterr().out)
    assert exited.value.code == (0 if status["ok"] else 1)
    assert {"deliveries", "scheduler", "outbox", "failing_endpoints", "sweeps", "migrations", "broker"} <= set(status)
    assert status["database"]["status"] == "up" and status["migrations"]["status"] == "at head"
    assert status["deliveries"]["webhook"]["due"] >= 0 and "oldest_due_seconds" in status["deliveries"]["email"]
