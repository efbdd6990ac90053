"""``registry migrate`` and ``registry create-admin-key``: the database's schema, its
reference (and demo) data, and admin API keys; and the embedded PostgreSQL that ``registry
run`` (and these commands, without DATABASE_URL) use."""

import argparse
import asyncio
import importlib.util
import logging
import sys
from typing import Any

from services.api_keys.service import create_bootstrap_admin_key
from services.database import create_database
from services.events.service import continue_feed_after_restore
from services.seed import load_initial_data
from services.settings import Settings, get_settings, use_settings
from services.unit_of_work import unit_of_work

logger = logging.getLogger("registry")


def migrate(settings: Settings, *, demo_by_default: bool) -> None:
    """Apply every migration, then load reference data (and demo data if enabled)."""
    from alembic import command

    from migrations.config import alembic_config

    command.upgrade(alembic_config(settings.database_url), "head")

    async def seed() -> None:
        database = create_database(settings)
        try:
            async with unit_of_work(database=database) as session:
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

    async def create() -> str | None:
        database = create_database(settings)
        try:
            async with unit_of_work(database=database) as session:
                return await create_bootstrap_admin_key(session, name=name, only_if_none=only_if_none)
        finally:
            await database.dispose()

    return asyncio.run(create())


def print_key(key: str, *, why: str) -> None:
    """Show a new API key on standard output, once, under ``why``."""
    # Printed to the terminal once, never logged: only its hash is kept.
    print(
        f"\n{why}\n\n    {key}\n\nKeep it: it is shown this once. Use it as: Authorization: Bearer <key>\n", flush=True
    )


def with_embedded_database(settings: Settings) -> tuple[Settings, Any]:
    """``settings`` as they are when DATABASE_URL is set (and no server); else an embedded
    PostgreSQL started on DATA_DIR, the settings that point at it (made current), and that
    server, which the caller stops with ``cleanup()``."""
    if settings.database_url:
        return settings, None
    if importlib.util.find_spec("pgserver") is None:  # an image: the dev extra is not installed
        sys.exit(
            "DATABASE_URL is not set (nor DATABASE_URL_FILE), and this installation has no embedded PostgreSQL "
            "(pgserver, a development dependency): set DATABASE_URL to the database to use."
        )
    from services.embedded_postgres import start_embedded_postgres

    server, url = start_embedded_postgres(settings.data_dir)
    settings = settings.model_copy(update={"database_url": url})
    use_settings(settings)
    return settings, server


def command_migrate(args: argparse.Namespace) -> None:
    """Apply migrations and load reference data (and the demo data set if LOAD_DEMO_DATA=true)."""
    settings, server = with_embedded_database(get_settings())
    migrate(settings, demo_by_default=False)
    logger.info("database migrated and seeded")
    if server is not None:
        server.cleanup()


def command_create_admin_key(args: argparse.Namespace) -> None:
    """Create an admin API key and print it once (for the first key, or a lost one)."""
    settings, server = with_embedded_database(get_settings())
    key = create_admin_key(settings, name=args.name, only_if_none=False)
    assert key is not None
    print_key(key, why=f"A new admin API key ({args.name}):")
    if server is not None:
        server.cleanup()
