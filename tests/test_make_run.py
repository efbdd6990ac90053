"""`registry run` (what `make run` starts) on an embedded PostgreSQL: it prints the first admin
key once, serves the demo Network, survives SIGKILL, and stops everything on Ctrl-C."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT
from tests.integration.stack import free_port

KEY = re.compile(r"mnr_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


def start(data_dir: Path, port: int, out: Path, err: Path, metrics_port: int = 0) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL", "LOG_FORMAT")}
    env.update(DATA_DIR=str(data_dir), PORT=str(port), LOG_LEVEL="DEBUG", API_METRICS_PORT=str(metrics_port))
    registry = Path(sys.executable).with_name("registry")
    return subprocess.Popen([str(registry), "run"], cwd=ROOT, env=env, stdout=out.open("ab"), stderr=err.open("ab"))


def wait_for_key(out: Path, process: subprocess.Popen, err: Path, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, err.read_text()
        found = KEY.search(out.read_text())
        if found:
            return found.group(0)
        time.sleep(0.2)
    raise AssertionError("registry run printed no admin key:\n" + out.read_text() + err.read_text())


def wait_for_networks(port: int, key: str, process: subprocess.Popen, err: Path, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, err.read_text()
        try:
            response = httpx.get(
                f"http://127.0.0.1:{port}/v1/networks", headers={"Authorization": f"Bearer {key}"}, timeout=2
            )
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("registry run did not serve /v1/networks in time:\n" + err.read_text())


def scrape_until(port: int, wanted: tuple[str, ...], timeout: float = 30) -> str:
    """The metrics page once it shows every name in ``wanted``."""
    deadline = time.monotonic() + timeout
    page = ""
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            page = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        if all(name in page for name in wanted):
            return page
        time.sleep(0.5)
    raise AssertionError(f"the metrics page lacks some of {wanted}:\n{page}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_run_serves_the_demo_network_survives_sigkill_and_stops_cleanly(tmp_path):
    data_dir, out, err = tmp_path / "data", tmp_path / "run.out", tmp_path / "run.err"
    port, metrics_port = free_port(), free_port()
    first = start(data_dir, port, out, err, metrics_port)
    try:
        key = wait_for_key(out, first, err)
        networks = wait_for_networks(port, key, first, err)
        # The global Network and two regional ones; IOM leads the global one (its first).
        assert sorted(n["scope"] for n in networks["items"]) == ["global", "regional", "regional"]
        [network] = [n for n in networks["items"] if n["scope"] == "global"]
        assert network["coordinator"]["acronym"] == "IOM"
        assert f"http://127.0.0.1:{port}" in out.read_text()  # it says where the API lives
        assert f"http://127.0.0.1:{metrics_port}/metrics" in out.read_text()  # and its metrics
        anonymous = httpx.get(f"http://127.0.0.1:{port}/v1/networks", timeout=2)
        assert anonymous.status_code == 401
        # One process, one metrics port: the API's, the in-process worker's and scheduler's,
        # and the database's gauges, all on it.
        page = scrape_until(
            metrics_port,
            (
                'registry_http_requests_total{method="GET",route="/v1/networks",status="200"}',
                'registry_scheduler_sweep_last_run_timestamp_seconds{sweep="sweep_pending_events"}',
                'registry_worker_messages_total{actor="events.relay",outcome="ok"}',
                "registry_metrics_database_up 1.0",
                "registry_outbox_pending_events",
                'registry_queue_messages{queue="default"}',
                "registry_db_pool_size",
            ),
        )
        assert "registry_review_cycles_overdue" in page
        # Readable text logs on a developer's machine, the access line among them.
        assert "INFO api.access: GET /v1/networks 200" in err.read_text()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # The worst case: PostgreSQL dies hard too, leaving its postmaster.pid behind.
    postmaster = int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGKILL)
    while _alive(postmaster):
        time.sleep(0.1)

    second = start(data_dir, port, out, err)  # must not be stuck on what the killed one left
    try:
        again = wait_for_networks(port, key, second, err)
        # Same data, demo not loaded twice.
        assert [n["id"] for n in again["items"]] == [n["id"] for n in networks["items"]]
    finally:
        second.send_signal(signal.SIGINT)
        assert second.wait(timeout=60) == 0, err.read_text()
    assert not (data_dir / "pg" / "postmaster.pid").exists(), "Ctrl-C must stop the embedded PostgreSQL"
    assert KEY.findall(out.read_text()) == [key], "the first admin key is printed once, on the first start"
    assert key not in err.read_text(), "a key must never reach the logs"
    assert key.split("_", 2)[2] not in err.read_text()
