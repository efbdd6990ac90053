"""Exports from a real `registry serve`: 200,000 rows leave it while its resident memory
stays within a bound that holding the rows (or the encoded file) would break; and
`registry export` writes what the API exports."""

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from services.database import get_database
from services.entities.models import EntityKind
from tests.conftest import TEST_DATABASE_URL, committed_admin_key
from tests.factories import make_entity
from tests.integration.stack import BIN, free_port, start_process, wait_for_api

ROWS = 200_000
# Holding the rows as dicts would take several hundred MB, the CSV text alone about 60 MB;
# a streamed export needs a batch (500 rows) at a time.
GROWTH_BOUND_MB = 25


def _api_environment(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "RATE_LIMIT_", "BROKER_URL"))}
    return env | {"DATABASE_URL": TEST_DATABASE_URL, "PORT": str(port), "HOST": "127.0.0.1", "LOG_LEVEL": "WARNING"}


def _registry(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "registry"), *args], capture_output=True, text=True, timeout=120)


def _memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _export_all(base: str, key: str, pid: int) -> tuple[int, float, float, float]:
    """Stream the entities as CSV: (lines read, seconds, RSS before in MB, peak RSS during in MB)."""
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/csv"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        # Warm up (imports, the pool, the statement cache) with a small export.
        assert client.get("/v1/entities", params={"kind": "un_system"}).status_code == 200
        before = _memory_mb(pid, "VmRSS")
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # restart the peak (VmHWM) from here
        lines, started = 0, time.monotonic()
        with client.stream("GET", "/v1/entities") as response:
            assert response.status_code == 200
            for _ in response.iter_lines():
                lines += 1
        return lines, time.monotonic() - started, before, _memory_mb(pid, "VmHWM")


async def test_exporting_200000_rows_keeps_the_api_process_memory_flat(committed, tmp_path):
    async with committed.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO entities (id, acronym, name, kind, country_code, website) "
                "SELECT gen_random_uuid(), 'BULK' || n, 'Bulk-exported entity number ' || n, 'member_state', 'CH', "
                "'https://entity-' || n || '.example.org/' FROM generate_series(1, :rows) AS n"
            ),
            {"rows": ROWS},
        )
    key = await committed_admin_key()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "RATE_LIMIT_", "BROKER_URL"))} | {
        "DATABASE_URL": TEST_DATABASE_URL,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "api.log"
    api = start_process(log, env, "registry", "serve")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_api(base, lambda: log.read_text(errors="replace"))
        lines, seconds, before, peak = await asyncio.to_thread(_export_all, base, key, api.pid)
        assert lines == ROWS + 1  # the header, then every row
        growth = peak - before
        print(f"\n{ROWS} rows exported as CSV in {seconds:.1f} s; API RSS {before:.0f} MB, peak growth {growth:.1f} MB")
        assert growth < GROWTH_BOUND_MB, f"the API grew by {growth:.0f} MB exporting {ROWS} rows"
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=30)


async def test_registry_export_writes_the_apis_export_to_a_file(committed, tmp_path):
    async with get_database().session() as session:
        for n in range(3):
            await make_entity(session, acronym=f"CLI-EXP{n}", name=f"=cmd|' /C calc'!A{n}")
        await make_entity(session, acronym="CLI-CSO", kind=EntityKind.CIVIL_SOCIETY)
    key = await committed_admin_key()
    port = free_port()
    log = tmp_path / "api.log"
    api = start_process(log, _api_environment(port), "registry", "serve")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_api(base, lambda: log.read_text(errors="replace"))
        out = tmp_path / "un.ndjson"
        done = await asyncio.to_thread(
            _registry,
            "export",
            "entities",
            "--format",
            "ndjson",
            "--filter",
            "kind=un_system",
            "-o",
            str(out),
            "--api-key",
            key,
            "--base-url",
            base,
        )
        assert done.returncode == 0, done.stderr
        exported = [json.loads(line) for line in out.read_text().splitlines()]
        assert {e["acronym"] for e in exported} >= {"CLI-EXP0", "CLI-EXP1", "CLI-EXP2"}
        assert "CLI-CSO" not in {e["acronym"] for e in exported}
        as_csv = await asyncio.to_thread(_registry, "export", "entities", "--api-key", key, "--base-url", base)
        assert as_csv.returncode == 0 and as_csv.stdout.startswith("\ufeffID,Acronym,Name,")  # for a spreadsheet
        for_programs = await asyncio.to_thread(
            _registry, "export", "entities", "--header", "fields", "--api-key", key, "--base-url", base
        )
        assert for_programs.returncode == 0 and for_programs.stdout.startswith("\ufeffid,acronym,name,")
        assert "'=cmd|' /C calc'!A0" in as_csv.stdout  # the formula guard, as the API sends it
        refused = await asyncio.to_thread(
            _registry, "export", "entities", "--filter", "limit=3", "--api-key", key, "--base-url", base
        )
        assert refused.returncode == 1
        assert "422" in refused.stderr and "leave out limit" in refused.stderr
        refused = await asyncio.to_thread(
            _registry, "export", "memberships", "--filter", "bogus=1", "--api-key", key, "--base-url", base
        )
        assert refused.returncode == 1  # an unknown filter is never ignored (api/input.py)
        assert "'bogus' is not a parameter of this route" in refused.stderr
        assert "it takes: as_of, current, cursor, entity_id" in refused.stderr
        nothing = tmp_path / "refused.csv"
        refused = await asyncio.to_thread(
            _registry, "export", "nowhere", "-o", str(nothing), "--api-key", key, "--base-url", base
        )
        assert refused.returncode == 1 and "404" in refused.stderr
        assert list(tmp_path.glob("refused.csv*")) == []  # no file, not even an empty one
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=30)
