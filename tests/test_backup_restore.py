"""The backup runbook (docker/RUNBOOK.md), run for real: a database populated through the API
is dumped with `pg_dump -Fc` and restored with `pg_restore` into a fresh database; every
table has the same rows, the audit log is identical (and still append-only), and the API
serves the restored records with the same ETags. Runs natively against the PostgreSQL the
tests use, on databases of its own that it drops."""

import subprocess

import asyncpg
import pytest
from sqlalchemy import make_url

from tests.conftest import TEST_DATABASE
from tests.deployment import (
    AUDIT_DIGEST,
    EVENT_IDS,
    admin_key,
    drop_database,
    feed_event_ids,
    fetch,
    fresh_database,
    populate,
    registry,
    served,
    served_records,
    table_counts,
)
from tests.integration.required import required_command

SOURCE, RESTORED = f"{TEST_DATABASE}_backup_source", f"{TEST_DATABASE}_backup_restored"


def _pg_tool(name: str, why: str) -> str:
    """The client tool of the server the tests use: the embedded server's own (its version),
    or the machine's for DATABASE_URL's server."""
    from tests import conftest

    if conftest._embedded_server is not None:
        from pgserver._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)
    return required_command(name, why)


def _libpq_url(url: str) -> str:
    """A libpq connection URI (a unix socket in ``?host=`` included) with no password in it."""
    return make_url(url).set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _libpq_env(url: str) -> dict[str, str]:
    password = make_url(url).password
    return {"PGPASSWORD": str(password)} if password else {}


@pytest.fixture
def databases():
    yield
    drop_database(SOURCE)
    drop_database(RESTORED)


def test_a_dump_restored_into_a_fresh_database_serves_the_same_records(databases, tmp_path):
    pg_dump = _pg_tool("pg_dump", "back the database up")
    pg_restore = _pg_tool("pg_restore", "restore the backup")
    source = fresh_database(SOURCE)
    registry(source, "migrate", LOAD_DEMO_DATA="true")
    key = admin_key(source)
    with served(source, key) as client:
        populate(client)
        before = served_records(client)
    counts = table_counts(source)
    audit = fetch(source, AUDIT_DIGEST)
    events = fetch(source, EVENT_IDS)

    dump = tmp_path / "registry.dump"
    env = {"PATH": "/usr/bin:/bin", **_libpq_env(source)}
    subprocess.run(
        [pg_dump, f"--dbname={_libpq_url(source)}", "--format=custom", f"--file={dump}"],
        env=env,
        check=True,
        timeout=300,
    )
    drop_database(SOURCE)  # the disaster
    restored = fresh_database(RESTORED)
    subprocess.run(
        [pg_restore, f"--dbname={_libpq_url(restored)}", "--no-owner", "--exit-on-error", str(dump)],
        env=env,
        check=True,
        timeout=300,
    )

    assert table_counts(restored) == counts
    assert counts["audit_log"] > 50 and counts["events"] > 50 and counts["entities"] > 10
    assert fetch(restored, AUDIT_DIGEST) == audit, "the audit log is restored entry for entry"
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        fetch(restored, "UPDATE audit_log SET action = 'forged' RETURNING 1")  # still append-only
    with served(restored, key) as client:  # the admin key was restored too
        after = served_records(client)
        feed = feed_event_ids(client)
    assert after.keys() == before.keys() and len(before) > 50
    changed = [url for url in before if before[url] != after[url]]
    assert changed == [], f"served differently after the restore: {changed[:5]}"
    assert all(status == 200 and etag for url, (status, etag, _) in after.items() if url != "/v1/audit-log?limit=200")
    assert feed == events, "the change feed serves every restored event, in log order"


def test_after_a_restore_on_another_server_migrate_lets_the_feed_go_on(databases):
    """Events carry the transaction id that wrote them; a server restored from another one's
    dump has not reached those ids, so the change feed holds the events back (and a reader
    following it past newer events would skip them) until `registry migrate` — which the
    runbook's `up` runs — offsets this server's ids past them."""
    url = fresh_database(RESTORED)
    registry(url, "migrate", LOAD_DEMO_DATA="true")
    key = admin_key(url)
    events = fetch(url, EVENT_IDS)
    # As restored from a server a million transactions ahead of this one.
    fetch(url, "UPDATE events SET transaction_id = transaction_id + 1000000 RETURNING 1")
    with served(url, key) as client:
        assert feed_event_ids(client) == [], "held back: the ids are in this server's future"
    registry(url, "migrate")
    with served(url, key) as client:
        assert feed_event_ids(client) == events and len(events) > 50
        created = client.post("/v1/entities", json={"acronym": "AFTER", "name": "After", "kind": "un_system"})
        assert created.status_code == 201, created.text
        after = feed_event_ids(client)
    assert after[: len(events)] == events and len(after) == len(events) + 1, "the new event follows them"
