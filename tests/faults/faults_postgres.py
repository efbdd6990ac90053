"""Fault test 1: PostgreSQL restarted twice under mixed load, with an API, a worker and two
schedulers running on it."""

import time

from tests.faults.load import saved_acronyms, summary, sweep_overlaps, wait_for_deliveries


def test_postgres_restarted_twice_under_mixed_load(stack):
    stack.start_everything()
    load = stack.load(threads=4).start()
    restarts = []
    for _ in range(2):
        time.sleep(3)
        started = time.monotonic()
        stack.postgres.restart()
        restarts.append(time.monotonic() - started)
    time.sleep(4)
    outcomes = load.stop()
    restarted_at = time.time()

    # The API recovered by itself: a write now succeeds; the worker and a scheduler did too,
    # so every delivery (those of writes during the restarts included) arrives.
    after = stack.client.post("/v1/entities", json={"acronym": "AFTER", "name": "After", "kind": "un_system"})
    assert after.status_code == 201, after.text
    expected, received = wait_for_deliveries(stack, within=90)
    sweeps, overlaps = sweep_overlaps(stack.database_url)
    print(
        f"\npostgres restarts ({', '.join(f'{s:.1f} s' for s in restarts)}): {summary(outcomes)}; "
        f"deliveries {len(expected)}, received {sum(received.values())} (max per id {max(received.values())}); "
        f"sweeps logged {sweeps}, overlapping {len(overlaps)}"
    )
    assert len(outcomes) > 50, "the load ran"
    failures = [o for o in outcomes if o.status not in (200, 201)]
    assert all(o.status == 503 and o.retry_after for o in failures), f"only 503 with Retry-After: {failures[:5]}"
    assert max(o.seconds for o in outcomes) < load.timeout, "no request hung"
    written = {o.acronym for o in outcomes if o.status == 201}
    assert written <= saved_acronyms(stack.database_url), "every 2xx write is in the database"
    assert set(received) == expected
    assert overlaps == [], "exactly one scheduler sweeps at a time"
    from tests.faults.load import query

    resumed = query(
        stack.database_url,
        "SELECT count(*) AS n FROM scheduler_sweeps WHERE started_at > to_timestamp($1)",
        restarted_at,
    )[0]["n"]
    assert resumed > 0, "sweeping resumed after the restarts"
