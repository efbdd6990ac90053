"""The registry through PgBouncer in transaction mode (DATABASE_PGBOUNCER=true): three server
connections shared by every client connection, each transaction on whichever is free.
Connecting sends no startup parameter PgBouncer refuses, a statement runs where it was
prepared, and the statements of different processes do not collide on a shared server
connection."""

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from services.api_keys.service import create_bootstrap_admin_key
from services.database import create_database
from services.settings import get_settings
from tests.integration.required import required_command
from tests.integration.stack import free_port, start_process, stop_processes

pytestmark = pytest.mark.integration


@pytest.fixture
def pgbouncer(migrated_database: str, tmp_path: Path) -> Iterator[str]:
    """A PgBouncer in transaction mode in front of the test database, with three server
    connections; the URL that reaches the test database through it."""
    command = required_command("pgbouncer", "run the registry through PgBouncer")
    server = make_url(migrated_database)
    port = free_port()
    password = f" password={server.password}" if server.password else ""
    config = tmp_path / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"registry = host={server.host or '127.0.0.1'} port={server.port or 5432} dbname={server.database} "
        f"user={server.username}{password}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\ndefault_pool_size = 3\nmax_client_conn = 20\n",
        encoding="utf-8",
    )
    config.chmod(0o644)
    tmp_path.chmod(0o755)  # PgBouncer refuses to run as root: as root, it runs as nobody
    as_user = ["-u", "nobody"] if os.geteuid() == 0 else []
    process = start_process(tmp_path / "pgbouncer.log", dict(os.environ), command, *as_user, str(config))
    try:
        _wait_for_port(port, process, tmp_path / "pgbouncer.log")
        yield server.set(host="127.0.0.1", port=port, database="registry").render_as_string(hide_password=False)
    finally:
        stop_processes([process])


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    import socket
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"PgBouncer did not listen on {port}: {log.read_text()}")


async def test_without_the_setting_pgbouncer_refuses_the_connection(pgbouncer):
    database = create_database(get_settings().model_copy(update={"database_pgbouncer": False}), url=pgbouncer)
    try:
        with pytest.raises(Exception, match="unsupported startup parameter"):
            async with database.read() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await database.dispose()


async def test_reads_and_writes_through_pgbouncer_in_transaction_mode(committed, pgbouncer):
    settings = get_settings().model_copy(update={"database_pgbouncer": True, "database_pool_size": 4})
    database = create_database(settings, url=pgbouncer)
    try:
        async with database.session() as session:
            key = await create_bootstrap_admin_key(session, name="through pgbouncer", only_if_none=False)
        assert key is not None

        async def read(n: int) -> int:
            async with database.read() as conn:  # four client connections, three server connections
                return int(
                    await conn.scalar(
                        text("SELECT count(*) + :n FROM api_keys WHERE name = 'through pgbouncer'"), {"n": n}
                    )
                )

        for _ in range(3):  # each client connection prepares several statements
            assert await asyncio.gather(*(read(n) for n in range(8))) == [n + 1 for n in range(8)]
        async with database.session() as session:
            assert await session.scalar(text("SELECT count(*) FROM api_keys WHERE name = 'through pgbouncer'")) == 1
    finally:
        await database.dispose()


READS_IN_A_PROCESS = """
import asyncio, sys
from sqlalchemy import text
from services.database import create_database
from services.settings import Settings

async def main():
    database = create_database(Settings(database_pool_size=2))
    try:
        for _ in range(40):
            async with database.read() as conn:
                assert await conn.scalar(text("SELECT count(*) FROM api_keys")) >= 0
        async with database.session() as session:
            await session.execute(text("SELECT 1"))
    finally:
        await database.dispose()

asyncio.run(main())
"""


def test_processes_reading_at_once_share_one_server_connection(pgbouncer):
    """Three processes, as replicas are, read and write at once through the server
    connections PgBouncer shares among them (a read prepared outside a transaction was, at
    times, executed on another server connection: "prepared statement ... does not exist")."""
    env = {**os.environ, "DATABASE_URL": pgbouncer, "DATABASE_PGBOUNCER": "true"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", READS_IN_A_PROCESS], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
        )
        for _ in range(3)
    ]
    for process in processes:
        _, errors = process.communicate(timeout=60)
        assert process.returncode == 0, errors.decode()[-2000:]
