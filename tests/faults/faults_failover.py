"""Fault test 7: the primary fails and its standby is promoted, under writes and reads.

A PostgreSQL primary with a streaming standby of its own (ports 18135 and 18136), the
registry's processes on the libpq multi-host URL ``primary,standby`` with
``target_session_attrs=read-write``. The primary is stopped as a crash (``-m immediate``),
the standby promoted two seconds later (what a failover manager's detection takes), and
nothing is restarted: the API, the worker and the schedulers find the new primary on their
own. With synchronous replication no acknowledged write may be lost; with asynchronous
replication the test measures what was (docs/OPERATIONS.md)."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import Stack
from tests.faults.load import query, saved_acronyms, summary, sweep_overlaps, wait_for_deliveries
from tests.faults.stack import (
    API_PORT,
    PRIMARY_PORT,
    RECEIVER_PORT,
    STANDBY_PORT,
    Processes,
    ThrowawayPostgres,
    ThrowawayRabbit,
    admin_key,
    migrate,
    registry_env,
)
from tests.webhook_receiver import Receiver

DATABASE = "faults_failover"
DETECTION_SECONDS = 2.0  # between the primary's crash and the promotion


class Pair:
    def __init__(self, synchronous: bool) -> None:
        self.synchronous = synchronous
        self.primary = ThrowawayPostgres(PRIMARY_PORT, "wal_sender_timeout=5s")
        self.standby: ThrowawayPostgres | None = None
        self.url = (
            f"postgresql://postgres@127.0.0.1:{PRIMARY_PORT},127.0.0.1:{STANDBY_PORT}/{DATABASE}"
            "?target_session_attrs=read-write"
        )

    def clone(self) -> None:
        """The standby, streaming; then, for synchronous replication, every commit on the
        primary waits for the standby's flush (set only now: with no standby, a commit waits
        for ever)."""
        self.standby = ThrowawayPostgres(STANDBY_PORT, from_primary=self.primary)
        self._wait_for("state = 'streaming'")
        if self.synchronous:
            query(self.primary.url(), "ALTER SYSTEM SET synchronous_standby_names = '*'")
            query(self.primary.url(), "SELECT pg_reload_conf()")
            self._wait_for("sync_state = 'sync'")

    def _wait_for(self, condition: str) -> None:
        deadline = time.monotonic() + 60
        while not query(self.primary.url(), f"SELECT 1 FROM pg_stat_replication WHERE {condition}"):
            assert time.monotonic() < deadline, f"the standby is not {condition} within 60 s"
            time.sleep(0.2)

    def close(self) -> None:
        for server in (self.standby, self.primary):
            if server is not None:
                server.close()


@pytest.fixture(params=["synchronous", "asynchronous"])
def failover(request, rabbit: ThrowawayRabbit, tmp_path: Path) -> Iterator[tuple[Stack, Pair]]:
    pair = Pair(synchronous=request.param == "synchronous")
    processes = None
    receiver = None
    client = None
    try:
        pair.primary.create_database(DATABASE)
        env = registry_env(pair.primary.url(DATABASE), rabbit.url)
        migrate(env)
        key = admin_key(env)
        pair.clone()
        processes = Processes(tmp_path, {**env, "DATABASE_URL": pair.url})
        receiver = Receiver(port=RECEIVER_PORT)
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{API_PORT}", headers={"Authorization": f"Bearer {key}"}, timeout=10
        )
        yield Stack(pair.primary, rabbit, pair.url, processes, receiver, client), pair
    finally:
        if client is not None:
            client.close()
        if processes is not None:
            processes.stop_all()
        if receiver is not None:
            receiver.close()
        pair.close()


def _first_success_after(outcomes, moment: float) -> float | None:
    done = [o.finished for o in outcomes if o.kind == "write" and o.status == 201 and o.finished > moment]
    return min(done) if done else None


def test_the_primary_fails_and_the_promoted_standby_takes_over(failover):
    stack, pair = failover
    synchronous = pair.synchronous
    stack.start_everything()
    load = stack.load(threads=4).start()
    time.sleep(4)
    crashed = time.monotonic()
    pair.primary.stop("immediate")
    time.sleep(DETECTION_SECONDS)
    assert pair.standby is not None
    pair.standby.promote()
    promoted = time.monotonic()
    deadline = promoted + 60
    while _first_success_after(load.outcomes, promoted) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(4)  # the load goes on on the new primary
    outcomes = load.stop()
    recovered = _first_success_after(outcomes, promoted)
    assert recovered is not None, f"no write succeeded within 60 s of the promotion:\n{stack.logs()}"

    written = {o.acronym for o in outcomes if o.status == 201}
    lost = written - saved_acronyms(stack.database_url)
    after = stack.client.post("/v1/entities", json={"acronym": "AFTER", "name": "After", "kind": "un_system"})
    assert after.status_code == 201, after.text
    expected, received = wait_for_deliveries(stack, within=120)
    sweeps, overlaps = sweep_overlaps(stack.database_url)
    resumed = query(
        stack.database_url,
        "SELECT count(*) AS n FROM scheduler_sweeps WHERE started_at > now() - interval '20 seconds'",
    )
    mode = "synchronous" if synchronous else "asynchronous"
    print(
        f"\nfailover ({mode} replication): writes again {recovered - crashed:.1f} s after the crash, "
        f"{recovered - promoted:.1f} s after the promotion; {summary(outcomes)}; acknowledged writes "
        f"{len(written)}, lost {len(lost)}; deliveries {len(expected)}, received {sum(received.values())}; "
        f"sweeps {sweeps}, overlapping {len(overlaps)}"
    )
    failures = [o for o in outcomes if o.status not in (200, 201)]
    assert all(o.status == 503 and o.retry_after for o in failures), f"only 503 with Retry-After: {failures[:5]}"
    assert max(o.seconds for o in outcomes) < load.timeout, "no request hung"
    assert recovered - promoted < 15, "the processes found the new primary by themselves"
    if synchronous:
        assert lost == set(), "synchronous replication: every acknowledged write survives"
    assert set(received) == expected, "every delivery arrives from the new primary"
    assert overlaps == [], "exactly one scheduler sweeps at a time"
    assert resumed[0]["n"] > 0, "sweeping resumed on the new primary"
