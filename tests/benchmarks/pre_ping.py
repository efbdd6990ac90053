"""The cost of the idle-connection ping: N sequential one-query reads, with and without it,
and the same reads spaced out so that every checkout is pinged.

    DATABASE_URL=postgresql://... .venv/bin/python -m tests.benchmarks.pre_ping [N]
"""

import asyncio
import sys
import time

from sqlalchemy import text

from services.database import create_database
from services.settings import get_settings


async def per_read(idle: float, reads: int) -> float:
    settings = get_settings().model_copy(update={"database_ping_after_idle_seconds": idle})
    database = create_database(settings)
    try:
        for _ in range(50):  # warm the pool
            async with database.read() as conn:
                await conn.execute(text("SELECT 1"))
        started = time.perf_counter()
        for _ in range(reads):
            async with database.read() as conn:
                await conn.execute(text("SELECT 1"))
        return (time.perf_counter() - started) / reads
    finally:
        await database.dispose()


async def main(reads: int) -> None:
    default = get_settings().database_ping_after_idle_seconds
    settings = {"never": -1.0, f"after {default} s idle (default)": default, "every checkout": 0.0}
    results = {name: min([await per_read(idle, reads) for _ in range(3)]) for name, idle in settings.items()}
    base = results["never"]
    print(f"{reads} sequential reads, best of 3 runs, per checkout + SELECT 1:")
    for name, seconds in results.items():
        print(f"  ping {name:<28} {seconds * 1e6:6.0f} µs  ({seconds / base:.2f}x)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000))
