"""The registry's processes: ``registry run`` (everything in one process, for a developer),
``registry serve`` (the API), ``registry worker`` and ``registry scheduler``."""

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from api.cli.composition import compose_api
from api.cli.database import create_admin_key, migrate, print_key, with_embedded_database
from services.database import log_connection_budget, shown_url
from services.settings import Settings, get_settings, use_settings
from worker.main import start_broker
from worker.observability import serving_metrics
from worker.scheduler import run_scheduler

logger = logging.getLogger("registry")


def command_run(args: argparse.Namespace) -> None:
    """Everything in one process: embedded PostgreSQL unless DATABASE_URL, migrations,
    reference and demo data, the API, the worker and the scheduler."""
    started = time.monotonic()
    settings, server = with_embedded_database(get_settings())
    if not settings.webhook_allowed_private_hosts:
        # On a developer's machine webhooks may go to a receiver on this machine.
        settings = settings.model_copy(update={"webhook_allowed_private_hosts": ["127.0.0.1"]})
        use_settings(settings)
    migrate(settings, demo_by_default=True)
    first_key = create_admin_key(settings, name="first admin key (registry run)", only_if_none=True)
    if first_key is not None:
        print_key(first_key, why="The registry's first admin API key:")
    app = compose_api(metrics_port=settings.api_metrics_port, in_process_worker=True)
    base = f"http://{settings.host}:{settings.port}"
    metrics = (
        f"http://{settings.metrics_host}:{settings.api_metrics_port}/metrics" if settings.api_metrics_port else "off"
    )
    print(
        "\nMigration Network Registry\n"
        f"  API       {base}/v1/networks\n"
        f"  docs      {base}/docs   (OpenAPI: {base}/openapi.json)\n"
        f"  metrics   {metrics}   (API, worker and scheduler)\n"
        f"  database  {shown_url(settings.database_url or '')}"
        + (f"  (embedded, data in {(settings.data_dir / 'pg').resolve()})" if server else "")
        + f"\n  broker    {settings.broker_url or 'in-memory (worker and scheduler run in this process)'}\n"
        f"  ready in  {time.monotonic() - started:.1f}s; Ctrl-C stops everything\n",
        flush=True,
    )
    _serve(app, settings, drain_seconds=0)  # a developer's Ctrl-C stops at once
    if server is not None:
        server.cleanup()


class _DrainingServer(uvicorn.Server):
    """On the first SIGTERM/SIGINT: turn /readyz 503 and answer new requests 503 with
    ``Retry-After`` and ``Connection: close`` for ``drain_seconds`` (a balancer stops
    sending, clients move on), while requests under way finish; then stop listening, give
    connections already accepted a moment to be answered, and shut down (in-flight requests
    get ``shutdown_grace_seconds``). A second signal stops at once."""

    drain_seconds = 0.0
    LINGER_SECONDS = 0.5

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        from api.lifecycle import draining

        if draining.is_set() or self.drain_seconds <= 0 or not hasattr(self, "_loop"):
            super().handle_exit(sig, frame)
            return
        draining.set()
        logger.info("draining for %.1f s before shutting down", self.drain_seconds)
        self._loop.call_soon_threadsafe(self._loop.call_later, self.drain_seconds, self._stop_listening, sig)

    def _stop_listening(self, sig: int) -> None:
        for server in self.servers:
            server.close()
        self._loop.call_later(self.LINGER_SECONDS, super().handle_exit, sig, None)


def _serve(app: Any, settings: Settings, *, drain_seconds: float, **options: Any) -> None:
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's lines go through the registry's handler (LOG_FORMAT)
        access_log=False,  # api.observability writes the access line, with the request id
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        **options,
    )
    server = _DrainingServer(config)
    server.drain_seconds = drain_seconds
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it handled
        server.run()
    if not server.started:
        sys.exit(3)  # uvicorn.run()'s exit code when the server could not start


def command_serve(args: argparse.Namespace) -> None:
    """The API alone (production: workers and the scheduler run as their own processes)."""
    settings = get_settings()
    log_connection_budget(settings, "registry serve")
    _serve(
        compose_api(metrics_port=settings.api_metrics_port),
        settings,
        drain_seconds=settings.shutdown_drain_seconds,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,  # the address per-address limits count
    )


def command_scheduler(args: argparse.Namespace) -> None:
    """The scheduler alone; run exactly one (extra ones wait as standbys)."""
    settings = get_settings()
    log_connection_budget(settings, "registry scheduler", unpooled=1)  # + its leader lock's connection
    start_broker(settings)  # the scheduler hands work to the workers

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with serving_metrics(settings.scheduler_metrics_port, everything=True):
            await run_scheduler(stop)

    asyncio.run(main())


def command_worker(args: argparse.Namespace) -> None:
    """Dramatiq workers (needs BROKER_URL), their metrics served on WORKER_METRICS_PORT."""
    settings = get_settings()
    # prometheus_client's multiprocess mode: every worker process writes its values here and
    # one forked process serves their sum. It reads the variable itself, at import, so it is
    # set before dramatiq (and with it prometheus_client) starts: dramatiq replaces this process.
    directory = settings.prometheus_multiproc_dir
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="registry-worker-metrics-"))
    else:
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):  # an earlier run's values
            stale.unlink()
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    command = [sys.executable, "-m", "dramatiq", "worker.main:setup"]
    if args.processes:
        command += ["--processes", str(args.processes)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    if args.worker_shutdown_timeout:
        command += ["--worker-shutdown-timeout", str(args.worker_shutdown_timeout)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, command, environment)  # noqa: S606 - our own interpreter, fixed arguments


def add_worker_arguments(sub: argparse.ArgumentParser) -> None:
    """``registry worker``'s options, passed on to dramatiq."""
    sub.add_argument("--processes", type=int, help="worker processes (dramatiq's default: one per CPU)")
    sub.add_argument("--threads", type=int, help="threads per process (dramatiq's default: 8)")
    sub.add_argument(
        "--worker-shutdown-timeout",
        type=int,
        help="on SIGTERM, milliseconds running actors have to finish (dramatiq's default: 600000)",
    )
