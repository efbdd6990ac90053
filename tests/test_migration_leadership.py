"""Migration 0021 on a database populated at 0020: each network's coordinator becomes its
coordinator and secretariat posts from the day it was established, the API reads the lead
post where it read the column, and down again the column comes back from the posts."""

import asyncio
import uuid

import asyncpg
import pytest
from alembic import command

from migrations.config import alembic_config
from tests.conftest import TEST_DATABASE
from tests.deployment import drop_database, fresh_database

NAME = f"{TEST_DATABASE}_leadership"
IOM, ECLAC = uuid.uuid4(), uuid.uuid4()
GLOBAL, LAC = uuid.uuid4(), uuid.uuid4()


@pytest.fixture
def database():
    url = fresh_database(NAME)
    yield url
    drop_database(NAME)


async def _run(url: str, *statements: str) -> list[list[asyncpg.Record]]:
    conn = await asyncpg.connect(url)
    try:
        return [await conn.fetch(statement) for statement in statements]
    finally:
        await conn.close()


def _populate_at_0020(url: str) -> None:
    """Two entities and two networks, as the 0020 schema holds them: one coordinator each."""
    asyncio.run(
        _run(
            url,
            "INSERT INTO entities (id, acronym, name, kind) VALUES "
            f"('{IOM}', 'M-IOM', 'IOM', 'un_system'), ('{ECLAC}', 'M-ECLAC', 'ECLAC', 'un_system')",
            "INSERT INTO networks (id, name, scope, established_on, coordinator_entity_id, is_demo) VALUES "
            f"('{GLOBAL}', 'Global', 'global', '2018-12-09', '{IOM}', true)",
            "INSERT INTO networks (id, name, scope, parent_network_id, region, established_on, coordinator_entity_id)"
            f" VALUES ('{LAC}', 'LAC', 'regional', '{GLOBAL}', 'ECLAC', '2020-02-01', '{ECLAC}')",
        )
    )


def test_coordinators_become_posts_from_the_networks_start_and_come_back_down(database):
    config = alembic_config(database)
    command.upgrade(config, "0020")
    _populate_at_0020(database)

    command.upgrade(config, "0021")
    [posts, columns] = asyncio.run(
        _run(
            database,
            "SELECT network_id, role::text, entity_id, start_date::text, end_date, is_demo FROM network_posts "
            "ORDER BY start_date, role",
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'networks'",
        )
    )
    assert [tuple(p) for p in posts] == [
        (GLOBAL, "coordinator", IOM, "2018-12-09", None, True),
        (GLOBAL, "secretariat", IOM, "2018-12-09", None, True),
        (LAC, "coordinator", ECLAC, "2020-02-01", None, False),
        (LAC, "secretariat", ECLAC, "2020-02-01", None, False),
    ]
    assert "coordinator_entity_id" not in {c["column_name"] for c in columns}

    # A co-lead appointed after the upgrade; down again, each network keeps its first coordinator.
    asyncio.run(
        _run(
            database,
            "INSERT INTO network_posts (id, network_id, role, entity_id, start_date) VALUES "
            f"(gen_random_uuid(), '{LAC}', 'coordinator', '{IOM}', '2024-01-01')",
        )
    )
    posts_query = "SELECT p::text FROM network_posts p ORDER BY id"
    [before] = asyncio.run(_run(database, posts_query))
    command.downgrade(config, "0020")
    [coordinators] = asyncio.run(_run(database, "SELECT id, coordinator_entity_id FROM networks ORDER BY name"))
    assert {row["id"]: row["coordinator_entity_id"] for row in coordinators} == {GLOBAL: IOM, LAC: ECLAC}

    # Meanwhile the previous release hands the global Network to ECLAC; LAC is untouched.
    asyncio.run(_run(database, f"UPDATE networks SET coordinator_entity_id = '{ECLAC}' WHERE id = '{GLOBAL}'"))
    command.upgrade(config, "head")
    [after] = asyncio.run(_run(database, posts_query))
    lac_posts = [row for row in before if str(LAC) in row[0]]
    assert len(lac_posts) == 3 and set(lac_posts) <= set(after)  # IOM's co-lead is back, as it was
    [global_posts] = asyncio.run(
        _run(database, f"SELECT role::text, entity_id FROM network_posts WHERE network_id = '{GLOBAL}' ORDER BY role")
    )
    assert [tuple(p) for p in global_posts] == [("coordinator", ECLAC), ("secretariat", ECLAC)]
