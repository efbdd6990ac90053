"""Fault test 2: RabbitMQ stopped for 30 s under write load; and the queue stays bounded by
the due work while no worker runs."""

import os
import signal
import time

from tests.faults.load import query, summary, wait_for_deliveries

BROKER_DOWN_SECONDS = float(os.environ.get("FAULT_BROKER_DOWN_SECONDS", "30"))
QUEUE_SLACK = 5  # beyond the due work: the scheduler's relay messages, at most one per 5 s


def _due_work(database_url: str) -> int:
    """Work a message may stand for: events not yet relayed, and deliveries that are due."""
    row = query(
        database_url,
        "SELECT (SELECT count(*) FROM events WHERE published_at IS NULL) AS events, "
        "(SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()) AS deliveries",
    )[0]
    return int(row["events"]) + int(row["deliveries"])


def test_rabbitmq_stopped_for_30_seconds_under_write_load(stack):
    stack.start_everything()
    load = stack.load(threads=2, reads=False, pause=0.2).start()
    time.sleep(2)
    stack.rabbit.stop_app()
    time.sleep(BROKER_DOWN_SECONDS)
    stack.rabbit.start_app()
    deepest, excess = 0, 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # writes go on while the backlog drains
        depth, due = stack.rabbit.depth(), _due_work(stack.database_url)
        deepest, excess = max(deepest, depth), max(excess, depth - due)
        time.sleep(0.5)
    outcomes = load.stop()
    expected, received = wait_for_deliveries(stack, within=120)
    print(
        f"\nrabbitmq down {BROKER_DOWN_SECONDS:.0f} s: {summary(outcomes)}; deliveries {len(expected)}, "
        f"received {sum(received.values())}; deepest queue after it returned {deepest} (at most {excess} over due work)"
    )
    assert outcomes and all(o.status == 201 for o in outcomes), "every write is 2xx while the broker is down"
    assert set(received) == expected, "every event is delivered after the broker returns"
    assert excess <= QUEUE_SLACK


def test_the_queue_stays_bounded_while_the_worker_is_stopped(stack):
    stack.receiver.script = [503] * 10  # the first ten attempts fail: ten retries fall due ~5 s later
    stack.processes.api()
    stack.processes.worker()
    stack.processes.scheduler()
    stack.subscribe()
    for i in range(10):
        assert stack.client.post("/v1/entities", json={"acronym": f"Q{i}", "name": f"Q {i}", "kind": "un_system"})
    deadline = time.monotonic() + 60
    while len(stack.receiver.requests) < 10:
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.2)
    # The scheduler's first sweep hands the worker the hourly sweeps' six messages, work the
    # due count below does not see: the worker takes them before it stops.
    while not query(stack.database_url, "SELECT 1 FROM scheduler_sweeps LIMIT 1") or stack.rabbit.depth() > 0:
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.2)
    stack.processes.signal("worker", signal.SIGTERM)
    stack.processes.wait("worker", within=30)
    samples = []
    for i in range(20):  # ten seconds: the retries fall due, more writes come, the scheduler sweeps 20 times
        if i % 2 == 0:
            stack.client.post("/v1/entities", json={"acronym": f"QW{i}", "name": f"QW {i}", "kind": "un_system"})
        samples.append((stack.rabbit.depth(), _due_work(stack.database_url)))
        time.sleep(0.5)
    stack.processes.worker("worker-2")
    expected, received = wait_for_deliveries(stack, within=90)
    excess = max(depth - due for depth, due in samples)
    print(
        f"\nworker stopped 10 s: queue depth {[d for d, _ in samples]}, due work {[w for _, w in samples]}; "
        f"at most {excess} over due work; deliveries {len(expected)}, received {sum(received.values())}"
    )
    assert max(due for _, due in samples) >= 10, "the retries fell due while the worker was away"
    assert excess <= QUEUE_SLACK, "one message per due delivery, whatever the outage"
    assert set(received) == expected
