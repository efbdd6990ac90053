"""Migration 0018 on a database populated at 0017: free-text regions become the commission
they name, and a region no known spelling matches stops the upgrade, naming the network,
with nothing changed."""

import uuid

import pytest
from alembic import command

from migrations.config import alembic_config
from tests.conftest import TEST_DATABASE
from tests.deployment import drop_database, fetch, fresh_database

NAME = f"{TEST_DATABASE}_regions"


@pytest.fixture
def database():
    url = fresh_database(NAME)
    yield url
    drop_database(NAME)


def _populate_at_0017(url: str, regions: list[str]) -> None:
    coordinator, world = uuid.uuid4(), uuid.uuid4()
    statements = [
        f"INSERT INTO entities (id, acronym, name, kind) VALUES ('{coordinator}', 'IOM', 'IOM', 'un_system')",
        "INSERT INTO networks (id, name, scope, established_on, coordinator_entity_id) "
        f"VALUES ('{world}', 'World', 'global', '2018-12-09', '{coordinator}')",
    ]
    for n, region in enumerate(regions):
        statements.append(
            "INSERT INTO networks (id, name, scope, parent_network_id, region, established_on, coordinator_entity_id) "
            f"VALUES ('{uuid.uuid4()}', 'Regional {n}', 'regional', '{world}', '{region}', '2019-01-01', '{coordinator}')"
        )
    for statement in statements:
        fetch(url, statement)


def _regions(url: str) -> list[tuple[str, int]]:
    rows = fetch(
        url, "SELECT string_agg(region || ':' || version, ',' ORDER BY name) FROM networks WHERE region IS NOT NULL"
    )
    return [(r.split(":")[0], int(r.split(":")[1])) for r in rows.split(",")]


def test_known_spellings_become_commissions(database):
    config = alembic_config(database)
    command.upgrade(config, "0017")
    _populate_at_0017(
        database, ["Africa", "asia & the Pacific", "Arab States", "ECE", "latin america and the caribbean"]
    )
    command.upgrade(config, "0018")
    assert _regions(database) == [("ECA", 2), ("ESCAP", 2), ("ESCWA", 2), ("ECE", 1), ("ECLAC", 2)]
    with pytest.raises(Exception, match="ck_networks_region_is_commission"):
        fetch(database, "UPDATE networks SET region = 'Africa' WHERE region = 'ECA'")


def test_an_unknown_region_stops_the_upgrade_naming_it_and_changes_nothing(database):
    config = alembic_config(database)
    command.upgrade(config, "0017")
    _populate_at_0017(database, ["Africa", "Mediterranean"])
    with pytest.raises(RuntimeError, match=r"Regional 1 \(.*\): 'Mediterranean'.*Nothing was changed"):
        command.upgrade(config, "0018")
    assert fetch(database, "SELECT version_num FROM alembic_version") == "0017"
    assert _regions(database) == [("Africa", 1), ("Mediterranean", 1)]
    fetch(database, "UPDATE networks SET region = 'ECE' WHERE region = 'Mediterranean'")  # the operator's fix
    command.upgrade(config, "0018")
    assert _regions(database) == [("ECA", 2), ("ECE", 1)]
