"""`registry run` (what `make run` starts) on an embedded PostgreSQL: it serves the demo
Network, survives SIGKILL, and stops everything on Ctrl-C."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data_dir: Path, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL")}
    env.update(DATA_DIR=str(data_dir), PORT=str(port), LOG_LEVEL="WARNING")
    registry = Path(sys.executable).with_name("registry")
    return subprocess.Popen([str(registry), "run"], cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def wait_for_networks(port: int, process: subprocess.Popen, log: Path, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/v1/networks", timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("registry run did not serve /v1/networks in time:\n" + log.read_text())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie child of ours would still answer; the postmaster is not our child
    return True


def test_run_serves_the_demo_network_survives_sigkill_and_stops_cleanly(tmp_path):
    data_dir, log = tmp_path / "data", tmp_path / "run.log"
    port = free_port()
    first = start(data_dir, port, log)
    try:
        networks = wait_for_networks(port, first, log)
        [network] = networks["items"]
        assert network["coordinator"]["acronym"] == "IOM"
        assert "http://127.0.0.1" in log.read_text()  # it says where the API lives
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # The worst case: PostgreSQL dies hard too, leaving its postmaster.pid behind.
    postmaster = int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGKILL)
    while _alive(postmaster):
        time.sleep(0.1)

    second = start(data_dir, port, log)  # must not be stuck on what the killed one left
    try:
        again = wait_for_networks(port, second, log)
        assert [n["id"] for n in again["items"]] == [network["id"]]  # same data, demo not loaded twice
    finally:
        second.send_signal(signal.SIGINT)
        assert second.wait(timeout=60) == 0, log.read_text()
    assert not (data_dir / "pg" / "postmaster.pid").exists(), "Ctrl-C must stop the embedded PostgreSQL"
