"""An embedded PostgreSQL (the ``pgserver`` package) for machines without one."""

import json
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger("services.embedded_postgres")


def _forget_dead_handles(pgdata: Path) -> None:
    """pgserver counts the processes using the server in a file; one killed with SIGKILL
    stays listed and would keep the server from ever being stopped. Drop dead pids."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except ValueError:
        handles.unlink()
        return
    alive = [pid for pid in pids if _pid_alive(int(pid))]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_embedded_postgres(data_dir: Path, database: str = "registry") -> tuple[Any, str]:
    """Start (or join) the server whose data lives in ``data_dir/pg`` and make sure
    ``database`` exists. Returns the server handle (keep it alive) and the database URL."""
    with warnings.catch_warnings():  # platformdirs warns where XDG_RUNTIME_DIR is unset; pgserver copes
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", database):
        raise ValueError(f"not a plain database name: {database!r}")
    pgdata = (data_dir / "pg").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608 (checked above)
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return server, server.get_uri(database)
