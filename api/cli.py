"""``registry``: run, serve, migrate, work and schedule the Migration Network Registry, and
the operator's commands (status, trace, deliveries)."""

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
from sqlalchemy import make_url

from api.operations_cli import add_operations_commands
from services.observability.logs import configure_logging
from services.settings import Settings, get_settings, use_settings

logger = logging.getLogger("registry")


# LOG_FORMAT's default per command: readable text where a person watches (a developer's
# `registry run`, an operator's commands), JSON where a log collector reads (production).
TEXT_LOG_COMMANDS = frozenset({"run", "status", "trace", "deliveries", "create-admin-key"})


def _configure_logging(settings: Settings, command: str) -> None:
    # SQL and its parameters stay out of the logs even at DEBUG: parameters can be secrets.
    log_format = settings.log_format or ("text" if command in TEXT_LOG_COMMANDS else "json")
    configure_logging(level=settings.log_level, log_format=log_format)


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

    app = create_app(run_worker_in_process=True, metrics_port=settings.api_metrics_port)
    base = f"http://{settings.host}:{settings.port}"
    metrics = (
        f"http://{settings.metrics_host}:{settings.api_metrics_port}/metrics" if settings.api_metrics_port else "off"
    )
    print(
        "\nMigration Network Registry\n"
        f"  API       {base}/v1/networks\n"
        f"  docs      {base}/docs   (OpenAPI: {base}/openapi.json)\n"
        f"  metrics   {metrics}   (API, worker and scheduler)\n"
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
    from api.app import create_app

    _serve(
        create_app(metrics_port=settings.api_metrics_port),
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
    from worker.observability import serving_metrics
    from worker.scheduler import run_scheduler

    settings = get_settings()

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
    command = [sys.executable, "-m", "dramatiq", "worker.main"]
    if args.processes:
        command += ["--processes", str(args.processes)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    if args.worker_shutdown_timeout:
        command += ["--worker-shutdown-timeout", str(args.worker_shutdown_timeout)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, command, environment)  # noqa: S606 - our own interpreter, fixed arguments


def _local_api_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104 - a bind-all address names no host to call
    return f"http://{host}:{settings.port}"


def command_export(args: argparse.Namespace) -> None:
    """Export a collection as CSV or NDJSON through the API: every row your key may see."""
    from pathlib import Path

    import httpx

    media_type = {"csv": "text/csv", "ndjson": "application/x-ndjson"}[args.format]
    filters = []
    for pair in args.filter:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            sys.exit(f"registry export: --filter takes NAME=VALUE, got {pair!r}")
        filters.append((name, value))
    base_url = (args.base_url or _local_api_url(get_settings())).rstrip("/")
    url = f"{base_url}/v1/{args.collection.strip('/')}"
    headers = {"Accept": media_type, "Authorization": f"Bearer {args.api_key}"}
    # A file appears only once the export is whole: written beside it, then renamed.
    partial = Path(f"{args.output}.partial") if args.output else None
    started = completed = False
    try:
        with (
            httpx.stream("GET", url, params=filters, headers=headers, timeout=httpx.Timeout(30, read=None)) as response,
            partial.open("wb") if partial else contextlib.nullcontext(sys.stdout.buffer) as output,
        ):
            if response.status_code != 200:
                response.read()
                try:
                    detail = response.json().get("detail", response.text)
                except ValueError:
                    detail = response.text
                sys.exit(f"registry export: {response.status_code} from {url}: {detail}")
            started = True
            for chunk in response.iter_bytes():
                output.write(chunk)
            completed = True
    except httpx.TransportError as error:
        if started:
            sys.exit(f"registry export: the export from {url} stopped before its end ({error}); run it again")
        sys.exit(f"registry export: cannot reach the API at {base_url} ({error}); is it running? (--base-url)")
    finally:
        if partial and not completed:
            partial.unlink(missing_ok=True)
    if partial:
        partial.replace(args.output)
        print(f"wrote {args.output}", file=sys.stderr)


def command_import(args: argparse.Namespace) -> None:
    """Import entities, memberships or working-group seats from a CSV file, all or nothing."""
    import uuid
    from pathlib import Path

    from tqdm import tqdm

    from services import context
    from services.auth.authenticator import Authenticator
    from services.database import dispose_database, get_database
    from services.errors import DomainError
    from services.imports.flow import ImportReport, import_rows
    from services.imports.kinds import KINDS
    from services.imports.reading import ImportFileError, read_file
    from services.principals import SYSTEM_IMPORT, Principal
    from worker.events import unit_of_work

    class Undo(Exception):
        """Leaves the unit of work without committing."""

    kind = KINDS[args.kind]
    settings, server = _with_embedded_database(get_settings())  # DATABASE_URL, or make run's database
    import_id = f"import-{uuid.uuid4()}"

    async def run() -> tuple[ImportReport, Principal]:
        try:
            actor = SYSTEM_IMPORT
            if args.api_key:
                actor = await Authenticator(settings).authenticate(args.api_key, get_database().read)
            rows = read_file(Path(args.file), required=kind.required, optional=kind.optional)
            context.request_id.set(import_id)  # every audit entry of this import carries it
            with tqdm(total=len(rows), unit="row", file=sys.stderr, disable=not sys.stderr.isatty()) as progress:
                try:
                    async with unit_of_work() as session:
                        report = await import_rows(
                            session, kind, rows, actor=actor, on_row=lambda _outcome: progress.update()
                        )
                        if args.dry_run or report.rejected:
                            raise Undo
                except Undo:
                    pass
            return report, actor
        finally:
            await dispose_database()

    try:
        report, actor = asyncio.run(run())
    except (ImportFileError, DomainError) as error:
        print(f"registry import: {error}", file=sys.stderr)
        sys.exit(2)
    finally:
        if server is not None:
            server.cleanup()
    for outcome in report.outcomes:
        if args.verbose or outcome.status == "rejected":
            print(outcome)
    print(f"{report.summary()} ({kind.name}, as {actor.id})")
    if args.dry_run:
        print("Dry run: nothing was changed.")
    elif report.rejected:
        print("Nothing was changed: an import is all or nothing. Fix the rejected rows and run it again.")
    else:
        print(f"Committed. The audit trail lists this import's changes under request id {import_id}.")
    if report.rejected:
        sys.exit(1)


def _export_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "collection",
        help="the list to export, as its path under /v1: entities, memberships, events, audit-log, "
        "networks/<id>/memberships, working-groups/<id>/members...",
    )
    sub.add_argument("--format", choices=("csv", "ndjson"), default="csv", help="csv (default) or ndjson")
    sub.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a filter of the list route, e.g. --filter kind=un_system (repeatable)",
    )
    sub.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    sub.add_argument("--api-key", required=True, help="your API key: the export holds what it may read")
    sub.add_argument("--base-url", help="the API's address (default: http://HOST:PORT from the settings)")


def _import_arguments(sub: argparse.ArgumentParser) -> None:
    from services.imports.kinds import KINDS

    sub.add_argument("kind", choices=sorted(KINDS), help="what the file holds")
    sub.add_argument("file", help="a CSV file (UTF-8, header line first; see docs/OPERATIONS.md for its columns)")
    sub.add_argument("--dry-run", action="store_true", help="check every row, report, and change nothing")
    sub.add_argument(
        "--api-key",
        help="act as this API key's principal (default: the system principal system:import)",
    )
    sub.add_argument("--verbose", action="store_true", help="report every row, not only the rejected ones")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="registry", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, handler in (
        ("run", command_run),
        ("serve", command_serve),
        ("migrate", command_migrate),
        ("worker", command_worker),
        ("scheduler", command_scheduler),
        ("create-admin-key", command_create_admin_key),
        ("export", command_export),
        ("import", command_import),
    ):
        summary = (handler.__doc__ or name).strip().splitlines()[0]
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.set_defaults(handler=handler)
        if name == "create-admin-key":
            sub.add_argument("--name", default="admin key (CLI)", help="what the key is for")
        elif name == "export":
            _export_arguments(sub)
        elif name == "import":
            _import_arguments(sub)
        elif name == "worker":
            sub.add_argument("--processes", type=int, help="worker processes (dramatiq's default: one per CPU)")
            sub.add_argument("--threads", type=int, help="threads per process (dramatiq's default: 8)")
            sub.add_argument(
                "--worker-shutdown-timeout",
                type=int,
                help="on SIGTERM, milliseconds running actors have to finish (dramatiq's default: 600000)",
            )
    add_operations_commands(commands)
    args = parser.parse_args(argv)
    _configure_logging(get_settings(), args.command)
    args.handler(args)


if __name__ == "__main__":
    main()
