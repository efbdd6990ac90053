"""``registry import``: entities, memberships or working-group seats from a CSV file, all or
nothing."""

import argparse
import asyncio
import sys
import uuid
from pathlib import Path

from api.cli.database import with_embedded_database
from services import context
from services.api_keys.authenticator import Authenticator
from services.database import dispose_database, get_database
from services.errors import DomainError
from services.imports.flow import ImportReport, import_rows
from services.imports.kinds import KINDS
from services.imports.reading import ImportFileError, read_file
from services.principals import SYSTEM_IMPORT, Principal
from services.settings import get_settings
from services.unit_of_work import unit_of_work
from worker.main import start_broker


def command_import(args: argparse.Namespace) -> None:
    """Import entities, memberships or working-group seats from a CSV file, all or nothing."""
    from tqdm import tqdm  # only on a terminal: not loaded for the other commands

    class Undo(Exception):
        """Leaves the unit of work without committing."""

    kind = KINDS[args.kind]
    settings, server = with_embedded_database(get_settings())  # DATABASE_URL, or make run's database
    start_broker(settings)  # the import's events: the relay is nudged once it commits
    import_id = f"import-{uuid.uuid4()}"

    async def run() -> tuple[ImportReport, Principal]:
        try:
            actor = SYSTEM_IMPORT
            if args.api_key:
                actor = await Authenticator(settings).authenticate(args.api_key, get_database().read)
            rows = read_file(Path(args.file), required=kind.required, optional=kind.optional, ignored=kind.ignored)
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


def add_import_arguments(sub: argparse.ArgumentParser) -> None:
    """``registry import``'s arguments."""
    from services.imports.kinds import KINDS

    sub.add_argument("kind", choices=sorted(KINDS), help="what the file holds")
    sub.add_argument("file", help="a CSV file (UTF-8, header line first; see docs/OPERATIONS.md for its columns)")
    sub.add_argument("--dry-run", action="store_true", help="check every row, report, and change nothing")
    sub.add_argument(
        "--api-key",
        help="act as this API key's principal (default: the system principal system:import)",
    )
    sub.add_argument("--verbose", action="store_true", help="report every row, not only the rejected ones")
