"""The migrations build exactly the schema the models describe, and go back down."""

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from migrations.config import alembic_config
from services.base import Base
from services.database import async_database_url
from tests.conftest import TEST_DATABASE, database_url, recreate_database

SCRATCH = f"{TEST_DATABASE}_migrations"


async def _diff_and_tables(url: str) -> tuple[list, set[str]]:
    engine = create_async_engine(async_database_url(url))
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata)
        )
        tables = set(
            (await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))).scalars()
        )
    await engine.dispose()
    return diff, tables


def test_upgrade_matches_the_models_and_downgrade_undoes_it():
    asyncio.run(recreate_database(SCRATCH))
    url = database_url(SCRATCH)
    config = alembic_config(url)
    command.upgrade(config, "head")
    diff, tables = asyncio.run(_diff_and_tables(url))
    assert diff == [], f"models and migrations disagree: {diff}"
    assert set(Base.metadata.tables) <= tables

    command.downgrade(config, "base")
    _, tables = asyncio.run(_diff_and_tables(url))
    assert tables == {"alembic_version"}

    command.upgrade(config, "head")  # and up again: nothing was left behind (types, functions)
    diff, _ = asyncio.run(_diff_and_tables(url))
    assert diff == []


def test_every_constraint_and_index_is_named_by_the_convention():
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            assert constraint.name, f"unnamed constraint on {table.name}"
        for index in table.indexes:
            assert index.name, f"unnamed index on {table.name}"
