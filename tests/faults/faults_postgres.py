"""Fault test 1: PostgreSQL restarted twice under mixed load, with an API, a worker and two
schedulers running on it."""

import time

from tests.faults.load import query, saved_acronyms, summary, sweep_overlaps, wait_for_deliveries
from tests.faults.stack import SWEEP_TIMEOUT_SECONDS

SCHEDULER_INTERVAL_SECONDS = 0.5  # as registry_env sets it


def seconds_until_a_sweep_after(database_url: str, moment: float, *, within: float) -> float | None:
    """Seconds from ``moment`` (a Unix time) to the first sweep logged as started after it,
    polled until ``within`` seconds have passed; None if none started."""
    deadline = time.time() + within
    while True:
        first = query(
            database_url,
            "SELECT extract(epoch FROM min(started_at)) AS at FROM scheduler_sweeps WHERE started_at > to_timestamp($1)",
            moment,
        )[0]["at"]
        if first is not None:
            return float(first) - moment
        if time.time() > deadline:
            return None
        time.sleep(0.2)


def test_postgres_restarted_twice_under_mixed_load(stack):
    stack.start_everything()
    # the faults hit a scheduler that leads, not one still starting (a slow start is not a recovery)
    assert seconds_until_a_sweep_after(stack.database_url, 0, within=60) is not None, stack.logs()
    load = stack.load(threads=4).start()
    restarts = []
    for _ in range(2):
        time.sleep(3)
        started = time.monotonic()
        stack.postgres.restart()
        restarts.append(time.monotonic() - started)
    answering_again = time.time()
    time.sleep(4)
    outcomes = load.stop()

    # The API recovered by itself: a write now succeeds; the worker and a scheduler did too,
    # so every delivery (those of writes during the restarts included) arrives.
    after = stack.client.post("/v1/entities", json={"acronym": "AFTER", "name": "After", "kind": "un_system"})
    assert after.status_code == 201, after.text
    expected, received = wait_for_deliveries(stack, within=90)
    # After an outage, sweeping resumes within about the interval plus the sweep cut-off (a new
    # leader first waits out the previous leader's last sweep) of the database answering again.
    resumed_after = seconds_until_a_sweep_after(
        stack.database_url, answering_again, within=SCHEDULER_INTERVAL_SECONDS + SWEEP_TIMEOUT_SECONDS + 10
    )
    sweeps, overlaps = sweep_overlaps(stack.database_url)
    print(
        f"\npostgres restarts ({', '.join(f'{s:.1f} s' for s in restarts)}): {summary(outcomes)}; "
        f"deliveries {len(expected)}, received {sum(received.values())} (max per id {max(received.values())}); "
        f"sweeps logged {sweeps}, overlapping {len(overlaps)}; first sweep "
        f"{'none' if resumed_after is None else f'{resumed_after:.1f} s'} after the database answered again"
    )
    assert len(outcomes) > 50, "the load ran"
    failures = [o for o in outcomes if o.status not in (200, 201)]
    assert all(o.status == 503 and o.retry_after for o in failures), f"only 503 with Retry-After: {failures[:5]}"
    assert max(o.seconds for o in outcomes) < load.timeout, "no request hung"
    written = {o.acronym for o in outcomes if o.status == 201}
    assert written <= saved_acronyms(stack.database_url), "every 2xx write is in the database"
    assert set(received) == expected
    assert overlaps == [], "exactly one scheduler sweeps at a time"
    assert resumed_after is not None, f"sweeping resumed after the restarts: {stack.logs()}"
