"""The suite's two webhook delivery measures alone, for work on delivery: commit -> receipt at
100 events/s with the workers already running, then throughput on a backlog against a bare
httpx loop (tests/benchmarks/suite.py's Bench, unchanged), plus the workers' CPU per
delivery during the backlog (from /proc, counted from the first webhook's arrival: the
workers' boot left out).

    python -m tests.benchmarks.delivery          # BENCH_BROKER_URL: a vhost of its own

On a database of its own (``registry_bench_delivery``, generated with the small size's
counts on first use): ``registry_bench_small`` may be in use by another run, whose relay
would claim this run's events and whose set-up deletes this run's endpoint. The backlog is
the full size's (1,000 webhooks); DELIVERY_LATENCY_SECONDS (5) at 100 events/s. Prints one
JSON object.
"""

import asyncio
import json
import os
import time
from dataclasses import replace
from typing import Any

import httpx

from tests.benchmarks.generate import SIZES, ensure_database, server_url
from tests.benchmarks.load import Process
from tests.benchmarks.suite import Bench, Failure


class _Named:
    """What Bench reads of a size in the delivery measures: its name (``full``: the backlog
    of 1,000 and the latency run of ``seconds`` at 100 events/s)."""

    def __init__(self, name: str) -> None:
        self.name = name


class DeliveryBench(Bench):
    workers: Process | None = None

    def start_workers(self, tag: str) -> Process:
        self.workers = super().start_workers(tag)
        return self.workers

    def _wait_received(self, hook_url: str, count: int, within: float) -> list[list[Any]]:
        deadline = time.monotonic() + within
        first: tuple[int, float] | None = None
        while True:
            received: list[list[Any]] = httpx.get(f"{hook_url}/stats").json()
            if received and first is None and self.workers is not None:
                first = (len(received), self.workers.cpu())
            if len(received) >= count:
                # (the latency run's webhooks are all in by its first look: nothing to count)
                if first is not None and first[0] < count and self.workers is not None:
                    cpu = self.workers.cpu() - first[1]
                    per = self.results.setdefault("worker_cpu_ms_per_delivery", {})
                    per[str(count)] = round(1000 * cpu / max(len(received) - first[0], 1), 2)
                return received
            if time.monotonic() > deadline:
                raise Failure(f"only {len(received)} of {count} webhooks arrived within {within:.0f} s")
            time.sleep(0.05)


def main() -> None:
    size = replace(SIZES["small"], name="delivery")
    bench_url, _ = asyncio.run(ensure_database(server_url(), size))
    bench = DeliveryBench(size, bench_url)
    bench.seconds = float(os.environ.get("DELIVERY_LATENCY_SECONDS", "5"))
    bench.size = _Named("full")  # type: ignore[assignment]
    asyncio.run(bench.prepare())
    bench.check_broker_is_ours()
    api = bench.start_api("delivery")
    try:
        workers = bench.start_workers("delivery")
        try:
            bench.measure_delivery(api, workers)
        finally:
            workers.stop()
    finally:
        api.stop()
    print(json.dumps({"load_average": os.getloadavg(), **bench.results}))


if __name__ == "__main__":
    main()
