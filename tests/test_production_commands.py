"""The production commands never fall back to an embedded PostgreSQL: without DATABASE_URL (or
DATABASE_URL_FILE) `registry migrate|serve|worker|scheduler` refuse to start, naming the
variable, and touch no database (a throwaway one migrated and exit 0 would hide a missing
setting from an operator)."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _registry(*args: str, tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_URL_FILE")}
    environment.update(DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", ["migrate", "serve", "worker", "scheduler"])
def test_a_production_command_refuses_to_start_without_database_url(command, tmp_path):
    done = _registry(command, tmp_path=tmp_path)
    assert done.returncode != 0
    assert "DATABASE_URL is not set" in done.stderr, done.stderr
    assert not (tmp_path / "data" / "pg").exists(), "no embedded PostgreSQL may be started"


def test_an_empty_database_url_is_not_set_either(tmp_path):
    done = _registry("migrate", tmp_path=tmp_path, DATABASE_URL="")
    assert done.returncode != 0
    assert "DATABASE_URL is not set" in done.stderr, done.stderr
    assert not (tmp_path / "data" / "pg").exists()
