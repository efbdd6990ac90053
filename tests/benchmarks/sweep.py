"""How long the scheduler's sweep takes (every sweep, `worker.scheduler.run_sweeps`), on the
database in DATABASE_URL, with the in-memory broker (the messages it would send are queued,
not sent). Prints the median and the slowest of BENCH_SWEEPS runs, in ms, as JSON.

    DATABASE_URL=... .venv/bin/python -m tests.benchmarks.sweep
"""

import asyncio
import json
import os
import statistics
import time


async def main() -> None:
    from services.database import get_database
    from worker.main import start_broker
    from worker.scheduler import run_sweeps

    start_broker()  # as the scheduler process starts: the in-memory broker
    runs = int(os.environ.get("BENCH_SWEEPS", "7"))
    await run_sweeps({})  # warm: connections, plans
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        await run_sweeps({})
        seconds.append(time.perf_counter() - started)
    await get_database().dispose()
    print(json.dumps({"median_ms": statistics.median(seconds) * 1000, "max_ms": max(seconds) * 1000, "runs": runs}))


if __name__ == "__main__":
    assert not os.environ.get("BROKER_URL"), "the sweep is timed with the in-memory broker"
    asyncio.run(main())
