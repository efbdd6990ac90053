"""``registry``: run, serve, migrate, work and schedule the Migration Network Registry, and
the operator's commands (status, trace, deliveries)."""

# One module per purpose: processes (run, serve, worker, scheduler), database (migrate,
# create-admin-key), imports, exports, operations (status, trace, deliveries) and secrets
# (rotate-secrets-key, new-secrets-key). The HTTP
# modules of api/ never import this package; it imports them (and worker/).

import argparse
import logging
import sys

from api.cli.database import command_create_admin_key, command_migrate
from api.cli.exports import add_export_arguments, command_export
from api.cli.imports import add_import_arguments, command_import
from api.cli.operations import add_operations_commands
from api.cli.processes import add_worker_arguments, command_run, command_scheduler, command_serve, command_worker
from api.cli.secrets import add_secrets_arguments, command_new_secrets_key, command_rotate_secrets_key
from services.observability.logs import configure_logging
from services.settings import Settings, get_settings
from services.version import registry_version

# LOG_FORMAT's default per command: readable text where a person watches (a developer's
# `registry run`, an operator's commands), JSON where a log collector reads (production).
TEXT_LOG_COMMANDS = frozenset(
    {"run", "status", "trace", "deliveries", "create-admin-key", "rotate-secrets-key", "new-secrets-key"}
)
# The commands that start a long-lived process or change the database: each says, first,
# which version of the registry it is (an operator reading logs after an upgrade or rollback).
ANNOUNCED_COMMANDS = frozenset({"run", "serve", "worker", "scheduler", "migrate"})
# The production commands: each needs the database named. Only a developer's `registry run`
# (and the operator's one-off commands on its data) may start an embedded PostgreSQL.
PRODUCTION_COMMANDS = frozenset({"serve", "worker", "scheduler", "migrate"})


def _configure_logging(settings: Settings, command: str) -> None:
    # SQL and its parameters stay out of the logs even at DEBUG: parameters can be secrets.
    log_format = settings.log_format or ("text" if command in TEXT_LOG_COMMANDS else "json")
    configure_logging(level=settings.log_level, log_format=log_format)


def main(argv: list[str] | None = None) -> None:
    """The ``registry`` command: parse ``argv`` (default: the process's arguments) and run it."""
    parser = argparse.ArgumentParser(prog="registry", description=__doc__)
    parser.add_argument("--version", action="version", version=f"registry {registry_version()}")
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
        ("rotate-secrets-key", command_rotate_secrets_key),
        ("new-secrets-key", command_new_secrets_key),
    ):
        summary = (handler.__doc__ or name).strip().splitlines()[0]
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.set_defaults(handler=handler)
        if name == "create-admin-key":
            sub.add_argument("--name", default="admin key (CLI)", help="what the key is for")
        elif name == "export":
            add_export_arguments(sub)
        elif name == "import":
            add_import_arguments(sub)
        elif name == "worker":
            add_worker_arguments(sub)
        elif name == "rotate-secrets-key":
            rotate = sub
        elif name == "new-secrets-key":
            add_secrets_arguments(rotate, sub)
    add_operations_commands(commands)
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command in PRODUCTION_COMMANDS and not settings.database_url:
        sys.exit(
            f"registry {args.command}: DATABASE_URL is not set (nor DATABASE_URL_FILE). Set it to the PostgreSQL "
            "database to use (postgresql://user:password@host:5432/name); only `registry run` starts an "
            "embedded database."
        )
    _configure_logging(settings, args.command)
    if args.command in ANNOUNCED_COMMANDS:
        logging.getLogger("registry").info("registry %s: %s", registry_version(), args.command)
    args.handler(args)
