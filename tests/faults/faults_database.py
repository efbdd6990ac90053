"""Fault tests 9 and 10: the database turned read-only under mixed load; and the registry
through PgBouncer in transaction mode under mixed load."""

import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.conftest import Stack
from tests.faults.load import query, saved_acronyms, summary, wait_for_deliveries
from tests.faults.stack import API_PORTS, STANDBY_PORT
from tests.integration.required import required_command
from tests.integration.stack import start_process, stop_processes

READ_ONLY_SECONDS = 6.0
BEGAN = "the database is read-only"
ENDED = "the database accepts writes again"


def _read_only(stack: Stack, on: bool) -> None:
    """The whole server read-only, as for maintenance, or writable again: every session takes it
    up at the reload, the pooled connections the processes hold included."""
    change = "SET default_transaction_read_only = on" if on else "RESET default_transaction_read_only"
    query(stack.postgres.url(), f"ALTER SYSTEM {change}")
    query(stack.postgres.url(), "SELECT pg_reload_conf()")


def test_a_read_only_database_under_mixed_load(stack: Stack) -> None:
    stack.start_everything()
    load = stack.load(threads=4).start()
    time.sleep(2)
    _read_only(stack, on=True)
    began = time.monotonic()
    try:
        time.sleep(READ_ONLY_SECONDS)
        readiness_during = [stack.client.get(f"http://127.0.0.1:{port}/readyz") for port in API_PORTS[:2]]
    finally:
        _read_only(stack, on=False)
    ended = time.monotonic()
    time.sleep(3)
    outcomes = load.stop()
    # An orchestrator probes each replica: ready again, and the spell's end is logged.
    readiness_after = [stack.client.get(f"http://127.0.0.1:{port}/readyz") for port in API_PORTS[:2]]
    expected, received = wait_for_deliveries(stack, within=60)

    during = [o for o in outcomes if began + 0.5 < o.finished < ended]  # the reload takes a moment
    refused = [o for o in outcomes if o.status == 503]
    lines = {
        name: (len(re.findall(BEGAN, stack.processes.log(name))), len(re.findall(ENDED, stack.processes.log(name))))
        for name in stack.processes.running
    }
    written = {o.acronym for o in outcomes if o.status == 201}
    print(
        f"\nread-only database {READ_ONLY_SECONDS:.0f} s (default_transaction_read_only, reloaded): "
        f"{summary(outcomes)}; during it {summary(during)}; /readyz during "
        f"{[r.json()['checks']['database'] for r in readiness_during]}, after {[r.status_code for r in readiness_after]}; "
        f"log lines (began, ended) per process {lines}; deliveries {len(expected)}, received {sum(received.values())}"
    )
    assert all(o.status in (200, 201, 503) for o in outcomes), "0 x 500, nothing unanswered"
    assert [o for o in outcomes if o.kind == "read" and o.status != 200] == [], "reads keep working"
    assert [o for o in during if o.kind == "write" and o.status != 503] == [], "writes during it are refused"
    assert refused and all(o.kind == "write" for o in refused)
    assert all(o.retry_after and o.problem == "database-read-only" for o in refused), refused[:3]
    assert not {o.acronym for o in refused} & saved_acronyms(stack.database_url), "a refused write saved nothing"
    assert written <= saved_acronyms(stack.database_url)
    assert [r.status_code for r in readiness_during] == [503, 503]
    assert all(r.json()["checks"]["database"] == "read-only" for r in readiness_during)
    assert [r.status_code for r in readiness_after] == [200, 200]
    assert lines["api"] == (1, 1) and lines["api-2"] == (1, 1), "one log line as the spell begins, one as it ends"
    # Workers too, if they met it; a scheduler that met it stands down, and the one that leads
    # after it says when it ends.
    assert all(lines[name][0] == lines[name][1] <= 1 for name in ("worker-1", "worker-2")), lines
    assert all(max(lines[name]) <= 1 for name in ("scheduler-1", "scheduler-2")), lines
    assert not any("lost its database connection" in stack.processes.log(name) for name in lines), (
        "a read-only database is not a lost connection"
    )
    assert set(received) == expected, "every delivery arrives once the database takes writes"


@pytest.fixture
def pgbouncer(stack: Stack, tmp_path: Path) -> Iterator[str]:
    """PgBouncer in transaction mode (port 18136) in front of the stack's database, with five
    server connections; the URL that reaches the database through it."""
    command = required_command("pgbouncer", "run the registry through PgBouncer")
    database = stack.database_url.rsplit("/", 1)[-1]
    query(stack.database_url, f"ALTER DATABASE {database} SET jit = off")  # sent by no process through it
    directory = tmp_path / "pgbouncer"
    directory.mkdir()
    config = directory / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"registry = host=127.0.0.1 port={stack.postgres.port} dbname={database} user=postgres\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {STANDBY_PORT}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\ndefault_pool_size = 5\nmax_client_conn = 200\n",
        encoding="utf-8",
    )
    for path in (tmp_path, directory):
        path.chmod(0o755)  # as root, PgBouncer runs as nobody
    config.chmod(0o644)
    as_user = ["-u", "nobody"] if os.geteuid() == 0 else []
    process = start_process(directory / "pgbouncer.log", dict(os.environ), command, *as_user, str(config))
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, (directory / "pgbouncer.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", STANDBY_PORT), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, (directory / "pgbouncer.log").read_text()
                time.sleep(0.05)
        yield f"postgresql://postgres@127.0.0.1:{STANDBY_PORT}/registry"
    finally:
        stop_processes([process])


def test_pgbouncer_in_transaction_mode_under_mixed_load(stack: Stack, pgbouncer: str) -> None:
    # The API replicas and the workers through PgBouncer; the schedulers straight to
    # PostgreSQL, as their leader lock must (docs/OPERATIONS.md, "Through PgBouncer").
    through = {"DATABASE_URL": pgbouncer, "DATABASE_PGBOUNCER": "true"}
    stack.processes.worker("worker-1", env=through)
    stack.processes.worker("worker-2", env=through)
    stack.processes.scheduler("scheduler-1")
    stack.processes.scheduler("scheduler-2")
    stack.processes.apis((("api", API_PORTS[0]), ("api-2", API_PORTS[1])), env=through)
    stack.subscribe()
    load = stack.load(threads=4).start()
    time.sleep(8)
    outcomes = load.stop()
    expected, received = wait_for_deliveries(stack, within=60)
    written = {o.acronym for o in outcomes if o.status == 201}
    print(
        f"\nPgBouncer (transaction mode, 5 server connections): {summary(outcomes)}; deliveries {len(expected)}, "
        f"received {sum(received.values())}"
    )
    assert len(outcomes) > 50, "the load ran"
    assert all(o.status in (200, 201) for o in outcomes), "0 x 500, nothing refused"
    assert written <= saved_acronyms(stack.database_url)
    assert set(received) == expected, "every delivery arrives through PgBouncer"
