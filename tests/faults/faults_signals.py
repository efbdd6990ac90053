"""Fault tests 3 and 4: SIGTERM to the API, the worker and the scheduler during bursts
(nothing reset, nothing lost), and SIGKILL of the worker in a loop during deliveries
(every delivery arrives; a repeat is the same webhook-id)."""

import signal
import threading
import time

import httpx

from tests.faults.load import Load, Outcome, query, saved_acronyms, summary, sweep_overlaps, wait_for_deliveries
from tests.faults.stack import API_PORT, LEADER_SILENCE_SECONDS, SWEEP_TIMEOUT_SECONDS


def _burst(stack, callers: int, each: int) -> tuple[list[Outcome], list[threading.Thread]]:
    """``callers`` threads, each making ``each`` writes on its own keep-alive connection."""
    load = Load(key_header={"Authorization": stack.client.headers["Authorization"]}, timeout=15)
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def caller() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{API_PORT}", headers=load.key_header) as client:
            for _ in range(each):
                outcome = load.call(client, "write")
                with lock:
                    outcomes.append(outcome)

    threads = [threading.Thread(target=caller, daemon=True) for _ in range(callers)]
    for thread in threads:
        thread.start()
    return outcomes, threads


def test_sigterm_to_the_api_worker_and_scheduler_during_bursts(stack):
    stack.processes.api()
    stack.processes.worker()
    stack.processes.scheduler("scheduler-1")
    stack.subscribe()
    time.sleep(1)  # scheduler-1 leads
    stack.processes.scheduler("scheduler-2")

    outcomes, threads = _burst(stack, callers=20, each=5)
    deadline = time.monotonic() + 30
    while len(outcomes) < 15:  # SIGTERM in the middle of the burst
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.05)
    terminated = time.monotonic()
    stack.processes.signal("api", signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=30)
    api_exit = stack.processes.wait("api", within=40)
    api_seconds = time.monotonic() - terminated

    # The worker, mid-deliveries; then the leading scheduler.
    stack.processes.api()
    more, threads = _burst(stack, callers=4, each=5)
    for thread in threads:
        thread.join(timeout=30)
    terminated = time.monotonic()
    stack.processes.signal("worker", signal.SIGTERM)
    stack.processes.wait("worker", within=60)
    worker_seconds = time.monotonic() - terminated
    terminated = time.monotonic()
    stack.processes.signal("scheduler-1", signal.SIGTERM)
    stack.processes.wait("scheduler-1", within=30)
    scheduler_seconds = time.monotonic() - terminated
    stack.processes.worker("worker-2")
    expected, received = wait_for_deliveries(stack, within=90)
    # The standby takes over within the interval plus the sweep cut-off (it waits that long at
    # most for the old leader's last sweep); the deliveries may all have arrived before that.
    deadline = time.monotonic() + 10 * SWEEP_TIMEOUT_SECONDS
    while len(took_over := query(stack.database_url, "SELECT DISTINCT scheduler_id FROM scheduler_sweeps")) < 2:
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    print(
        f"\nSIGTERM api during a burst of {len(outcomes)}: {summary(outcomes)}; api exited {api_exit} "
        f"after {api_seconds:.1f} s; worker exited after {worker_seconds:.1f} s, scheduler after "
        f"{scheduler_seconds:.1f} s; deliveries {len(expected)}, received {sum(received.values())}; "
        f"schedulers that swept: {len(took_over)}"
    )
    assert len(outcomes) == 100
    # A request either got a response, or found the port closed after the drain (it was
    # never sent: ConnectError); none was sent and then reset.
    unanswered = [o for o in outcomes if o.status is None and o.error != "ConnectError"]
    assert unanswered == [], summary(outcomes)
    assert all(o.status in (201, 503, None) for o in outcomes), summary(outcomes)
    assert all(o.retry_after for o in outcomes if o.status == 503)
    assert any(o.status == 201 for o in outcomes)
    written = {o.acronym for o in outcomes + more if o.status == 201}
    assert written <= saved_acronyms(stack.database_url), "every 2xx is in the database"
    assert set(received) == expected, "nothing lost"
    assert len(took_over) == 2, "the standby scheduler took over"


def test_sigkill_of_the_worker_in_a_loop_during_deliveries(stack):
    stack.receiver.stall_first_seconds = 2  # the first delivery is mid-send when the worker dies
    stack.processes.api()
    stack.processes.scheduler()
    stack.subscribe()
    for i in range(30):
        response = stack.client.post("/v1/entities", json={"acronym": f"K{i}", "name": f"K {i}", "kind": "un_system"})
        assert response.status_code == 201, response.text
    kills = 0
    for round_ in range(5):
        arrived = len(stack.receiver.requests)
        stack.processes.worker(f"worker-{round_}")
        deadline = time.monotonic() + 20
        while len(stack.receiver.requests) == arrived and time.monotonic() < deadline:
            time.sleep(0.05)  # until this worker is sending
        time.sleep(0.3)
        stack.processes.signal(f"worker-{round_}", signal.SIGKILL)
        stack.processes.wait(f"worker-{round_}", within=10)
        kills += 1
    before_last = len(stack.receiver.requests)
    stack.processes.worker("worker-last")
    expected, received = wait_for_deliveries(stack, within=120)
    repeats = {webhook_id: n for webhook_id, n in received.items() if n > 1}
    # How long the slowest delivery waited after the worker that held it was killed: the
    # lease, or the queue mark of a message that never reached the broker, must lapse first.
    (longest,) = query(
        stack.database_url,
        "SELECT extract(epoch FROM max(succeeded_at - created_at))::float AS s FROM webhook_deliveries",
    )
    print(
        f"\nSIGKILL of the worker x{kills}: {before_last} requests arrived during the kills; "
        f"deliveries {len(expected)}, received {sum(received.values())}, "
        f"ids repeated {len(repeats)} (max {max(received.values())} each); "
        f"the longest from write to receipt {longest['s']:.1f} s"
    )
    assert before_last > 0, "the workers were killed during deliveries"
    assert set(received) == expected, "every delivery arrives, and only under its own webhook-id"


def _sweepers(stack, since: str = "-infinity") -> list[str]:
    rows = query(
        stack.database_url,
        "SELECT scheduler_id FROM scheduler_sweeps WHERE started_at > $1::text::timestamptz ORDER BY started_at",
        since,
    )
    return [row["scheduler_id"] for row in rows]


def test_a_frozen_leader_loses_the_lead_and_a_standby_takes_over(stack):
    """SIGSTOP on the leading scheduler (its lock connection stays open): PostgreSQL ends the
    silent connection after SCHEDULER_LEADER_SILENCE_SECONDS, the standby leads, and the old
    leader, woken, finds it lost the lock and stands by; no two sweeps overlap."""
    stack.processes.scheduler("scheduler-1")
    deadline = time.monotonic() + 30
    while not _sweepers(stack):
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.1)
    stack.processes.scheduler("scheduler-2")
    time.sleep(2)
    leader = _sweepers(stack)[-1]
    name = next(n for n in ("scheduler-1", "scheduler-2") if f":{stack.processes.running[n].pid}:" in leader)
    standby = "scheduler-2" if name == "scheduler-1" else "scheduler-1"

    stack.processes.signal(name, signal.SIGSTOP)
    frozen_at = query(stack.database_url, "SELECT now()::text AS t")[0]["t"]
    frozen = time.monotonic()
    while not [s for s in _sweepers(stack, frozen_at) if s != leader]:
        assert time.monotonic() - frozen < LEADER_SILENCE_SECONDS + 10 * SWEEP_TIMEOUT_SECONDS, stack.logs()
        time.sleep(0.1)
    takeover = time.monotonic() - frozen
    time.sleep(max(0.0, 20 - takeover))  # frozen 20 s in all
    stack.processes.signal(name, signal.SIGCONT)
    woke_at = query(stack.database_url, "SELECT now()::text AS t")[0]["t"]
    time.sleep(5)

    sweeps, overlaps = sweep_overlaps(stack.database_url)
    after_waking = _sweepers(stack, woke_at)
    print(
        f"\nfrozen leader (SIGSTOP 20 s, SCHEDULER_LEADER_SILENCE_SECONDS={LEADER_SILENCE_SECONDS}): "
        f"the standby led after {takeover:.1f} s; sweeps logged {sweeps}, overlapping {len(overlaps)}; "
        f"sweeps by the woken leader {after_waking.count(leader)} of {len(after_waking)} since it woke"
    )
    assert takeover < LEADER_SILENCE_SECONDS + 2 * SWEEP_TIMEOUT_SECONDS + 3, "the standby takes over in time"
    assert overlaps == [], "exactly one scheduler sweeps at a time"
    assert after_waking and leader not in after_waking, "the woken leader stands by"
    assert "lost the leader lock" in stack.processes.log(name) or "lost its database connection" in (
        stack.processes.log(name)
    ), stack.processes.log(name)[-3000:]
    assert stack.processes.running[standby].poll() is None and stack.processes.running[name].poll() is None
