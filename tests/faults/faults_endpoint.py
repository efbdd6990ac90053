"""Fault test 11: a webhook endpoint that refuses for a while, then comes back. The backlog is
10 minutes of traffic at one write a second (600 deliveries to the endpoint), built faster
than real time: the writes are made as fast as the two API replicas take them, each delivery
is refused twice (its first attempt, and its retry 5 s later), and then waits 5 min for its
next retry, as after 10 minutes of refusals. ``registry status`` shows where the backlog
stands; the receiver answers again; the operator makes the endpoint's waiting deliveries due
now (``registry deliveries retry-now --endpoint``), and the time until every one has arrived
is measured."""

import json
import os
import subprocess
import time
from typing import Any

from tests.faults.conftest import Stack
from tests.faults.load import query, summary, wait_for_deliveries
from tests.faults.stack import BIN, ROOT

BACKLOG = int(os.environ.get("FAULT_ENDPOINT_BACKLOG", "600"))  # 10 min at one write a second


def _registry(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "registry"), *args],
        cwd=ROOT,
        env={**stack.processes.env, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _status(stack: Stack) -> dict[str, Any]:
    done = _registry(stack, "status", "--json")
    return dict(json.loads(done.stdout))


def _attempted_twice(stack: Stack) -> bool:
    row = query(
        stack.database_url,
        "SELECT count(*) FILTER (WHERE attempts >= 2 AND next_attempt_at > now() + interval '1 minute') AS waiting, "
        "count(*) AS all FROM webhook_deliveries WHERE status = 'pending'",
    )[0]
    return int(row["all"]) >= BACKLOG and row["waiting"] == row["all"]


def test_an_endpoint_that_comes_back_drains_its_backlog(stack: Stack) -> None:
    stack.receiver.script = [503] * 100 * BACKLOG  # refuses, until told otherwise
    stack.start_everything()
    endpoint_id = query(stack.database_url, "SELECT id FROM webhook_endpoints")[0]["id"]

    load = stack.load(threads=8, reads=False, calls=BACKLOG).start()
    built = time.monotonic()
    samples = []
    while len(load.outcomes) < BACKLOG:
        assert time.monotonic() - built < 120, stack.logs()
        samples.append(_status(stack)["deliveries"]["webhook"])
    outcomes = load.stop()
    written_in = max(o.finished for o in outcomes) - built
    while not _attempted_twice(stack):
        assert time.monotonic() - built < 180, stack.logs()
        samples.append(_status(stack)["deliveries"]["webhook"])
    built_in = time.monotonic() - built
    waiting = _status(stack)
    text = _registry(stack, "status").stdout

    # The endpoint answers again; the operator makes its waiting deliveries due now.
    with stack.receiver.lock:
        stack.receiver.script = []
        stack.receiver.requests.clear()  # from here on, every request is answered 200
    recovered = time.monotonic()
    retried = _registry(stack, "deliveries", "retry-now", "--endpoint", str(endpoint_id), "--json")
    assert retried.returncode == 0, retried.stderr
    commanded_in = time.monotonic() - recovered
    made_due = json.loads(retried.stdout)["webhook"]
    try:
        expected, received = wait_for_deliveries(stack, within=120)
    except AssertionError:
        raise AssertionError(f"retry-now made {len(made_due)} due; not drained: {_undelivered(stack)}") from None
    drained_in = time.monotonic() - recovered
    backlog = waiting["deliveries"]["webhook"]
    print(
        f"\nendpoint back after refusing: a backlog of {backlog['waiting_for_retry']} deliveries "
        f"({BACKLOG} writes in {written_in:.1f} s, each refused twice, {built_in:.1f} s in all; {summary(outcomes)}); "
        f"registry status while building: pending up to {max(s['pending'] for s in samples)}, held up to "
        f"{max(s['held'] for s in samples)}, waiting for a retry up to {max(s['waiting_for_retry'] for s in samples)}; "
        f"retry-now made {len(made_due)} due (the command took {commanded_in:.1f} s); all arrived "
        f"{drained_in:.1f} s after the endpoint was back ({drained_in - commanded_in:.1f} s after the command)"
        f" ({len(expected) / drained_in:.0f} deliveries/s), received {sum(received.values())}"
    )
    assert all(o.status == 201 for o in outcomes), summary(outcomes)
    # registry status tells the three apart: all of the backlog waits for a retry, none due.
    assert backlog["waiting_for_retry"] >= BACKLOG and backlog["pending"] == 0 and backlog["held"] == 0, backlog
    assert backlog["due"] == 0 and backlog["failed"] == 0, backlog
    assert f"{backlog['waiting_for_retry']} waiting for a retry" in text, text
    assert "0 pending, 0 held by a worker" in text, text
    assert _failing(waiting, endpoint_id), waiting["failing_endpoints"]
    assert sorted(made_due) == sorted(str(row_id) for row_id in _ids(stack)), "retry-now made every waiting one due"
    assert set(received) == expected and len(expected) == backlog["waiting_for_retry"]
    assert max(received.values()) == 1, "each arrives once after the endpoint is back"
    assert drained_in < 60, "10 minutes of traffic drains within a minute"


def _failing(status: dict[str, Any], endpoint_id: Any) -> bool:
    return [endpoint["id"] for endpoint in status["failing_endpoints"]] == [str(endpoint_id)]


def _undelivered(stack: Stack) -> list[dict[str, Any]]:
    """Where each delivery that has not arrived stands, and every attempt it had."""
    return [
        dict(row)
        for row in query(
            stack.database_url,
            "SELECT d.id, d.attempts, d.next_attempt_at - now() AS due_in, d.lease_until - now() AS leased_for, "
            "d.queued_until - now() AS queued_for, d.last_error, "
            "array_agg(coalesce(a.status_code::text, '-') || ' ' || coalesce(a.error, '') ORDER BY a.attempted_at) AS tries "
            "FROM webhook_deliveries d LEFT JOIN webhook_attempts a ON a.delivery_id = d.id "
            "WHERE d.status <> 'succeeded' GROUP BY d.id",
        )
    ]


def _ids(stack: Stack) -> list[Any]:
    return [row["id"] for row in query(stack.database_url, "SELECT id FROM webhook_deliveries")]
