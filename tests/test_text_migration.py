"""Revision 0022 repairs single-line text written before the text policy (docs/API.md, "Text"):
a database populated at 0021 with control characters in names, titles and agenda items comes
out with spaces in their place, versions moved on, and multi-line text untouched."""

import asyncio
import json
import uuid

import asyncpg
import pytest
from alembic import command

from migrations.config import alembic_config
from tests.conftest import TEST_DATABASE
from tests.deployment import drop_database, fresh_database

NAME = f"{TEST_DATABASE}_text_policy"
GOOD, BAD, BROKEN = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
NETWORK, MEETING = uuid.uuid4(), uuid.uuid4()


@pytest.fixture
def database():
    url = fresh_database(NAME)
    yield url
    drop_database(NAME)


async def _populate(url: str) -> None:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await conn.executemany(
            "INSERT INTO entities (id, acronym, name, kind) VALUES ($1, $2, $3, 'un_system')",
            [
                (GOOD, "GOOD", "منظمة الهجرة\u200f Good"),
                (BAD, "BAD", "Bad\r\nname\twith\x07bell"),
                (BROKEN, "BRK", "Broken\u2028line\x85"),
            ],
        )
        await conn.execute(
            "INSERT INTO entity_identifiers (entity_id, scheme, value) VALUES ($1, 'ror', 'id\nvalue')", GOOD
        )
        await conn.execute(
            "INSERT INTO networks (id, name, scope, established_on, description) "
            "VALUES ($1, 'Net\nwork', 'global', '2020-01-01', 'Line one\nLine two')",
            NETWORK,
        )
        agenda = [{"title": "Item\none", "presenter": "Some\tone"}, {"title": "Fine", "presenter": None}]
        await conn.execute(
            "INSERT INTO meetings (id, network_id, kind, title, starts_at, ends_at, time_zone, reminder_minutes, "
            "agenda, location) VALUES ($1, $2, 'other', 'Annual\r\nmeeting', '2027-01-01T10:00Z', "
            "'2027-01-01T12:00Z', 'UTC', '{}', $3::jsonb, 'Gen\u0085eva')",
            MEETING,
            NETWORK,
            json.dumps(agenda),
        )
    finally:
        await conn.close()


async def _read(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


def test_0022_replaces_control_characters_in_single_line_text_with_spaces(database):
    config = alembic_config(database)
    command.upgrade(config, "0021")
    asyncio.run(_populate(database))
    command.upgrade(config, "0022")

    entities = asyncio.run(_read(database, "SELECT id, name, version FROM entities ORDER BY acronym"))
    by_id = {row["id"]: (row["name"], row["version"]) for row in entities}
    assert by_id[BAD] == ("Bad  name with bell", 2)
    assert by_id[BROKEN] == ("Broken line ", 2)
    assert by_id[GOOD] == ("منظمة الهجرة\u200f Good", 2)  # right-to-left text stays; its identifier moved it on
    (identifier,) = asyncio.run(_read(database, "SELECT value FROM entity_identifiers"))
    assert identifier["value"] == "id value"
    (network,) = asyncio.run(_read(database, "SELECT name, description, version FROM networks"))
    assert tuple(network) == ("Net work", "Line one\nLine two", 2)  # multi-line text is untouched
    (meeting,) = asyncio.run(_read(database, "SELECT title, location, agenda, version FROM meetings"))
    assert (meeting["title"], meeting["location"]) == ("Annual  meeting", "Gen eva")
    assert json.loads(meeting["agenda"]) == [
        {"title": "Item one", "presenter": "Some one"},
        {"title": "Fine", "presenter": None},
    ]
    assert meeting["version"] > 1

    command.downgrade(config, "0021")  # the way back keeps the repair
    command.upgrade(config, "head")
    assert asyncio.run(_read(database, "SELECT name FROM entities WHERE id = $1", BAD))[0]["name"] == (
        "Bad  name with bell"
    )
