"""A process's share of PostgreSQL's connections: idle ones go back to the server, the budget
is said at start, and a server with no connection left to give is an outage (503), not a bug."""

import asyncio
import dataclasses
import logging

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from services.database import create_database, log_connection_budget
from services.settings import Settings, get_settings
from tests.conftest import committed_admin_key
from tests.database_swap import role_with_no_connection_to_spare, serving_on


async def _still_open(pids: list[int]) -> int:
    database = create_database(get_settings())
    try:
        async with database.read() as conn:
            query = text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)")
            return int(await conn.scalar(query, {"pids": pids}))
    finally:
        await database.dispose()


async def _open_three_and_let_them_idle(release_seconds: float) -> tuple[list[int], int, int]:
    """Three reads at once on a fresh pool, then 1.5 s of quiet: the three backends' pids, how
    many of them are still open, and the pid the next read gets."""
    settings = get_settings().model_copy(
        update={
            "database_pool_size": 3,
            "database_idle_release_seconds": release_seconds,
            "database_ping_after_idle_seconds": 0.05,
        }
    )
    database = create_database(settings)
    try:
        async with database.read() as a, database.read() as b, database.read() as c:
            pids = [await each.scalar(text("SELECT pg_backend_pid()")) for each in (a, b, c)]
        await asyncio.sleep(1.5)
        still_open = await _still_open(pids)
        async with database.read() as conn:  # the first read after the quiet works
            next_pid = await conn.scalar(text("SELECT pg_backend_pid()"))
    finally:
        await database.dispose()
    return pids, still_open, next_pid


async def test_idle_pooled_connections_are_released_and_the_next_read_gets_a_new_one(migrated_database):
    pids, still_open, next_pid = await _open_three_and_let_them_idle(release_seconds=1.0)
    assert still_open == 0
    assert next_pid not in pids
    # Without the release, the pool keeps all three for good.
    pids, still_open, next_pid = await _open_three_and_let_them_idle(release_seconds=0)
    assert still_open == 3
    assert next_pid in pids


def test_a_release_needs_the_ping_that_replaces_released_connections():
    with pytest.raises(ValidationError, match="DATABASE_PING_AFTER_IDLE_SECONDS"):
        Settings(database_idle_release_seconds=60, database_ping_after_idle_seconds=-1)
    with pytest.raises(ValidationError, match="DATABASE_PING_AFTER_IDLE_SECONDS"):
        Settings(database_idle_release_seconds=1, database_ping_after_idle_seconds=2)
    Settings(database_idle_release_seconds=0, database_ping_after_idle_seconds=-1)  # neither: allowed


def test_each_process_says_its_budget(caplog):
    settings = get_settings().model_copy(
        update={"database_pool_size": 4, "database_max_overflow": 1, "database_idle_release_seconds": 60.0}
    )
    with caplog.at_level(logging.INFO, logger="services.database"):
        log_connection_budget(settings, "registry scheduler", unpooled=1)
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("registry scheduler: at most 11 database connections (reads 5 + writes 5")
    assert "idle ones closed after 60 s" in line


async def test_a_server_with_no_connection_to_spare_is_a_503_and_readyz_is_down(committed):
    """PostgreSQL's "too many clients" (SQLSTATE 53300), here from a role limited to one
    connection that another client holds."""
    key = await committed_admin_key()
    async with (
        role_with_no_connection_to_spare("one_connection") as limited_url,
        serving_on(create_database(get_settings(), url=limited_url)) as client,
    ):
        read = await client.get("/v1/entities", headers={"Authorization": f"Bearer {key}"})
        ready = await client.get("/readyz")
    assert read.status_code == 503, read.text
    assert read.json()["type"] == "/problems/database-unavailable" and int(read.headers["retry-after"]) > 0
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "down"


async def test_readyz_is_down_when_reads_work_but_no_write_connection_can_be_had(committed):
    """The write pool refused ("too many clients") while the read pool still works: a balancer
    must stop sending this process writes it can only answer with 503."""
    async with role_with_no_connection_to_spare("writes_starved") as limited_url:
        reads = create_database(get_settings())
        starved = create_database(get_settings(), url=limited_url)
        both = dataclasses.replace(reads, engine=starved.engine, sessions=starved.sessions)
        async with serving_on(both) as client:  # disposes the reads' pool and the starved writes'
            ready = await client.get("/readyz")
        await reads.engine.dispose()
    assert ready.status_code == 503, ready.text
    assert ready.json()["checks"]["database"] == "down"
