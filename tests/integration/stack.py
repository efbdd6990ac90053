"""The whole service as separate processes on a real broker: `registry serve`, `dramatiq`
workers and `registry scheduler`, against the test database, with a webhook receiver."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pika

from tests.conftest import ROOT, TEST_DATABASE_URL
from tests.integration.required import required_url

BIN = Path(sys.executable).parent


def start_process(log_path: Path, env: dict[str, str], *command: str) -> subprocess.Popen[bytes]:
    """One of the registry's commands, in its own process group, logging to ``log_path``."""
    return subprocess.Popen(
        [str(BIN / command[0]), *command[1:]],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_processes(processes: list[subprocess.Popen[bytes]], *, within: float = 20) -> None:
    """SIGTERM to each process itself, as an orchestrator sends it (dramatiq forwards it to its
    worker processes; a second SIGTERM straight to those makes them kill themselves, and they
    can hang there), then SIGKILL to the whole group of any still running after ``within``."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + within
    for process in running:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
    for process in running:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for_api(base_url: str, log: Callable[[], str], *, within: float = 30) -> None:
    """Until ``/healthz`` answers 200 (or fail, showing the API's log)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the API did not start:\n" + log())


def rabbitmq_url() -> str:
    return required_url("TEST_RABBITMQ_URL", "RabbitMQ fault")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    def __init__(self, tmp_path: Path, broker_url: str) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": TEST_DATABASE_URL,
            "BROKER_URL": broker_url,
            "PORT": str(self.port),
            "LOG_LEVEL": "INFO",
            "WEBHOOK_ALLOWED_PRIVATE_HOSTS": '["127.0.0.1"]',
            "WEBHOOK_LEASE_SECONDS": "3",
            "SCHEDULER_INTERVAL_SECONDS": "0.5",
            "RATE_LIMIT_BURST": "100000",
            # No metrics ports unless a test asks (tests run side by side on one machine).
            "API_METRICS_PORT": "0",
            "WORKER_METRICS_PORT": "0",
            "SCHEDULER_METRICS_PORT": "0",
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        purge_queues(broker_url)

    def start(self, name: str, *command: str) -> subprocess.Popen[bytes]:
        self.processes[name] = start_process(self.tmp_path / f"{name}.log", self.env, *command)
        return self.processes[name]

    def start_api(self) -> None:
        self.start("api", "registry", "serve")
        wait_for_api(self.base_url, lambda: self.log("api"))

    def start_worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        return self.start(name, "dramatiq", "worker.main:setup", "--processes", "1", "--threads", "4")

    def start_scheduler(self, name: str = "scheduler") -> subprocess.Popen[bytes]:
        return self.start(name, "registry", "scheduler")

    def kill(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        stop_processes(list(self.processes.values()))


def purge_queues(broker_url: str) -> None:
    """Messages left by an earlier run would only add noise."""
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        channel = connection.channel()
        for queue in ("default", "default.DQ", "default.XQ"):
            try:
                channel.queue_purge(queue)
            except pika.exceptions.ChannelClosedByBroker:
                channel = connection.channel()
    finally:
        connection.close()
