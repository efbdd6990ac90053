"""``registry``: run, serve, migrate and schedule the Migration Network Registry."""

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import socket
import sys
import time
from types import FrameType
from typing import Any

import uvicorn
from sqlalchemy import make_url

from services.settings import Settings, get_settings, use_settings

logger = logging.getLogger("registry")


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    # SQL and its parameters stay out of the logs even at DEBUG: parameters can be secrets.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


def migrate(settings: Settings, *, demo_by_default: bool) -> None:
    """Apply every migration, then load reference data (and demo data if enabled)."""
    from alembic import command

    from migrations.config import alembic_config
    from services.database import create_database
    from services.events.service import continue_feed_after_restore
    from services.seed import load_initial_data

    command.upgrade(alembic_config(settings.database_url), "head")

    async def seed() -> None:
        database = create_database(settings)
        try:
            async with database.session() as session:
                offset = await continue_feed_after_restore(session)
            if offset is not None:
                logger.warning(
                    "the events came from another server (a restore): the change feed goes on after them "
                    "(registry.xid_offset = %d)",
                    offset,
                )
            demo = demo_by_default if settings.load_demo_data is None else settings.load_demo_data
            await load_initial_data(database, demo=demo)
        finally:
            await database.dispose()

    asyncio.run(seed())


def create_admin_key(settings: Settings, *, name: str, only_if_none: bool) -> str | None:
    """A new admin API key (``None`` when ``only_if_none`` and one is active already)."""
    from services.api_keys.service import create_bootstrap_admin_key
    from services.database import create_database

    async def create() -> str | None:
        database = create_database(settings)
        try:
            async with database.session() as session:
                return await create_bootstrap_admin_key(session, name=name, only_if_none=only_if_none)
        finally:
            await database.dispose()

    return asyncio.run(create())


def _print_key(key: str, *, why: str) -> None:
    # Printed to the terminal once, never logged: only its hash is kept.
    print(
        f"\n{why}\n\n    {key}\n\nKeep it: it is shown this once. Use it as: Authorization: Bearer <key>\n", flush=True
    )


def _with_embedded_database(settings: Settings) -> tuple[Settings, Any]:
    if settings.database_url:
        return settings, None
    from services.embedded_postgres import start_embedded_postgres

    server, url = start_embedded_postgres(settings.data_dir)
    settings = settings.model_copy(update={"database_url": url})
    use_settings(settings)
    return settings, server


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def command_run(args: argparse.Namespace) -> None:
    """Everything in one process: embedded PostgreSQL unless DATABASE_URL, migrations,
    reference and demo data, the API, the worker and the scheduler."""
    started = time.monotonic()
    settings, server = _with_embedded_database(get_settings())
    if not settings.webhook_allowed_private_hosts:
        # On a developer's machine webhooks may go to a receiver on this machine.
        settings = settings.model_copy(update={"webhook_allowed_private_hosts": ["127.0.0.1"]})
        use_settings(settings)
    migrate(settings, demo_by_default=True)
    first_key = create_admin_key(settings, name="first admin key (registry run)", only_if_none=True)
    if first_key is not None:
        _print_key(first_key, why="The registry's first admin API key:")
    from api.app import create_app

    app = create_app(run_worker_in_process=True)
    base = f"http://{settings.host}:{settings.port}"
    print(
        "\nMigration Network Registry\n"
        f"  API       {base}/v1/networks\n"
        f"  docs      {base}/docs   (OpenAPI: {base}/openapi.json)\n"
        f"  database  {_safe_url(settings.database_url or '')}"
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
    from api.app import create_app

    _serve(
        create_app(),
        settings,
        drain_seconds=settings.shutdown_drain_seconds,
        proxy_headers=True,
        forwarded_allow_ips="*",
    )


def command_migrate(args: argparse.Namespace) -> None:
    """Apply migrations and load reference data (and the demo data set if LOAD_DEMO_DATA=true)."""
    settings, server = _with_embedded_database(get_settings())
    migrate(settings, demo_by_default=False)
    logger.info("database migrated and seeded")
    if server is not None:
        server.cleanup()


def command_create_admin_key(args: argparse.Namespace) -> None:
    """Create an admin API key and print it once (for the first key, or a lost one)."""
    settings, server = _with_embedded_database(get_settings())
    key = create_admin_key(settings, name=args.name, only_if_none=False)
    assert key is not None
    _print_key(key, why=f"A new admin API key ({args.name}):")
    if server is not None:
        server.cleanup()


def command_scheduler(args: argparse.Namespace) -> None:
    """The scheduler alone; run exactly one (extra ones wait as standbys)."""
    from worker.scheduler import run_scheduler

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_scheduler(stop)

    asyncio.run(main())


def command_status(args: argparse.Namespace) -> None:
    """The delivery backlog (due, age of the oldest) and the scheduler's last sweep, as JSON."""
    from services.database import get_database
    from services.scheduling.status import operational_status

    async def status() -> dict[str, Any]:
        database = get_database()
        try:
            async with database.read() as conn:
                return await operational_status(conn)
        finally:
            await database.dispose()

    print(json.dumps(asyncio.run(status()), indent=2))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="registry", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, handler in (
        ("run", command_run),
        ("serve", command_serve),
        ("migrate", command_migrate),
        ("scheduler", command_scheduler),
        ("status", command_status),
        ("create-admin-key", command_create_admin_key),
    ):
        sub = commands.add_parser(name, help=(handler.__doc__ or name).strip().splitlines()[0])
        sub.set_defaults(handler=handler)
        if name == "create-admin-key":
            sub.add_argument("--name", default="admin key (CLI)", help="what the key is for")
    args = parser.parse_args(argv)
    _configure_logging(get_settings())
    args.handler(args)


if __name__ == "__main__":
    main()
