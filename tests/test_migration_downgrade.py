"""The way back, proven on a populated database (docker/RUNBOOK.md, "Rolling back"): the
previous release's schema, then this release's, data written through the API, then down one
revision and up again. The rows of every table the lower revision has survive, the schema
matches the models again, and the API serves the same records with the same ETags."""

import asyncio

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from migrations.config import alembic_config
from tests.conftest import TEST_DATABASE
from tests.deployment import (
    admin_key,
    drop_database,
    fetch,
    fresh_database,
    populate,
    registry,
    served,
    served_records,
    table_counts,
)
from tests.test_migrations import _diff_and_tables

# The head revision of the last release. Move it when a release is cut; the revisions above
# it are this release's, and every deploy runs them on a database at this one.
PREVIOUS_RELEASE = "0015"
NAME = f"{TEST_DATABASE}_downgrade"


@pytest.fixture
def database():
    url = fresh_database(NAME)
    yield url
    drop_database(NAME)


def test_previous_release_then_this_one_then_down_one_and_up_again_keeps_the_data(database):
    config = alembic_config(database)
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    assert head is not None and script.get_revision(PREVIOUS_RELEASE) is not None

    command.upgrade(config, PREVIOUS_RELEASE)
    command.upgrade(config, "head")
    registry(database, "migrate", LOAD_DEMO_DATA="true")
    key = admin_key(database)
    with served(database, key) as client:
        populate(client)
        before = served_records(client)
    counts = table_counts(database)
    assert counts["entities"] > 10 and counts["audit_log"] > 50

    command.downgrade(config, "-1")
    below = fetch(database, "SELECT version_num FROM alembic_version")
    assert below == script.get_revision(head).down_revision
    lower = table_counts(database)
    lost = {t: (counts[t], n) for t, n in lower.items() if t != "alembic_version" and counts.get(t) != n}
    assert lost == {}, f"down one revision ({head} -> {below}) lost rows: {lost}"

    command.upgrade(config, "head")
    diff, _ = asyncio.run(_diff_and_tables(database))
    assert diff == [], f"after down and up, models and schema disagree: {diff}"
    assert {t: n for t, n in table_counts(database).items() if t in lower} == {t: counts[t] for t in lower}
    with served(database, key) as client:
        after = served_records(client)
    changed = [url for url in before if before[url] != after.get(url)]
    assert changed == [], f"served differently after down and up: {changed[:5]}"
