"""The read-path benchmark of DESIGN §5, on real PostgreSQL.

    make bench                      # 100,000 entities, 10 s per run
    BENCH_ROWS=1000000 make bench   # the design's million rows

It loads BENCH_ROWS entities into a database of its own (`registry_bench` on DATABASE_URL's
server, or the embedded one), then measures with wrk (32 connections) in one run:
a plain Starlette + asyncpg app (the baseline) and the registry's API, for a row by primary
key and a 50-row keyset page, and prints requests/s and the ratio to the baseline.
"""

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import make_url

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
DATABASE = "registry_bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from services.embedded_postgres import start_embedded_postgres

    global _server
    _server, url = start_embedded_postgres(ROOT / ".data", database="postgres")
    return url


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def prepare(url: str) -> tuple[list[uuid.UUID], str]:
    admin = await asyncpg.connect(with_database(url, "postgres").replace("+asyncpg", ""))
    exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
    if not exists:
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    await admin.close()
    bench_url = with_database(url, DATABASE)
    await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "registry"), "migrate"],
        env={**os.environ, "DATABASE_URL": bench_url, "LOAD_DEMO_DATA": "false", "LOG_LEVEL": "WARNING"},
        check=True,
        cwd=ROOT,
    )
    conn = await asyncpg.connect(bench_url.replace("+asyncpg", ""))
    have = await conn.fetchval("SELECT count(*) FROM entities WHERE acronym LIKE 'B%'")
    if have < ROWS:
        print(f"loading {ROWS - have} entities ...", flush=True)
        from services.ids import uuid7

        records = [(uuid7(), f"B{i}", f"Benchmark entity {i}", "un_system") for i in range(have, ROWS)]
        await conn.copy_records_to_table("entities", records=records, columns=["id", "acronym", "name", "kind"])
        await conn.execute("ANALYZE entities")
    ids = [
        r["id"]
        for r in await conn.fetch("SELECT id FROM entities WHERE acronym LIKE 'B%' ORDER BY random() LIMIT 1000")
    ]
    created = await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "registry"), "create-admin-key", "--name", "benchmark"],
        env={**os.environ, "DATABASE_URL": bench_url, "LOG_LEVEL": "WARNING"},
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    await conn.close()
    match = re.search(r"mnr_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", created.stdout)
    assert match is not None
    return ids, match.group(0)


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{command} did not start")


LUA = """
ids = {%s}
counter = 0
request = function()
  counter = counter + 1
  local path = string.format(wrk.path, ids[(counter %% #ids) + 1])
  return wrk.format("GET", path, wrk.headers)
end
"""


def wrk(url_template: str, ids: list[uuid.UUID], headers: dict[str, str]) -> float:
    script = Path("/tmp/registry-bench.lua")
    script.write_text(LUA % ", ".join(f'"{i}"' for i in ids))
    base, path = url_template.split("/", 3)[:3], "/" + url_template.split("/", 3)[3]
    command = ["wrk", "-t2", "-c32", f"-d{SECONDS}s", "-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append("/".join(base) + path.replace("%s", "%s"))
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    url = server_url()
    ids, key = asyncio.run(prepare(url))
    bench_url = with_database(url, DATABASE)
    dsn = make_url(bench_url).set(drivername="postgresql").render_as_string(hide_password=False)
    base_port, api_port = free_port(), free_port()
    env = {
        **os.environ,
        "BENCH_DSN": dsn,
        "DATABASE_URL": bench_url,
        "PORT": str(api_port),
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_BURST": "100000000",
        "RATE_LIMIT_PER_MINUTE": "100000000",
    }
    baseline = start(
        [
            str(BIN / "uvicorn"),
            "tests.benchmarks.baseline_app:app",
            "--port",
            str(base_port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env,
        base_port,
    )
    api = start([str(BIN / "registry"), "serve"], env, api_port)
    auth = {"Authorization": f"Bearer {key}"}
    try:
        results = {
            "row by id": (
                wrk(f"http://127.0.0.1:{base_port}/row/%s", ids, {}),
                wrk(f"http://127.0.0.1:{api_port}/v1/entities/%s", ids, auth),
            ),
            "50-row keyset page": (
                wrk(f"http://127.0.0.1:{base_port}/page?after=%s", ids, {}),
                wrk(f"http://127.0.0.1:{api_port}/v1/entities?limit=50&cursor=%s", [_cursor(i) for i in ids], auth),
            ),
        }
    finally:
        baseline.terminate()
        api.terminate()
    print(f"\n{ROWS} entities, wrk -c32 -d{SECONDS}s, {os.cpu_count()} cores")
    print(f"{'read':<22}{'baseline req/s':>16}{'registry req/s':>16}{'ratio':>8}")
    for name, (base, ours) in results.items():
        print(f"{name:<22}{base:>16.0f}{ours:>16.0f}{base / ours:>7.2f}x")


def _cursor(after: uuid.UUID) -> str:
    from services.pagination import encode_cursor

    return encode_cursor(after)  # type: ignore[return-value]


if __name__ == "__main__":
    main()
