"""One version, everywhere an operator or a client looks for it: the package's metadata."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from services.version import registry_version

PROJECT_VERSION = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["version"]


def test_the_version_is_the_packages():
    assert registry_version() == PROJECT_VERSION


def test_registry_version_prints_it():
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == f"registry {PROJECT_VERSION}"


async def test_healthz_and_the_openapi_document_carry_it(client):
    assert (await client.get("/healthz")).json() == {"status": "ok", "version": PROJECT_VERSION}
    assert (await client.get("/openapi.json")).json()["info"]["version"] == PROJECT_VERSION


def test_the_compose_file_builds_and_runs_this_version():
    """docker/compose.yaml's image tag defaults to the version (a rollback's TAG=<previous>
    finds the previous release's image), and the image is labelled with it."""
    compose = (Path(__file__).parents[1] / "docker" / "compose.yaml").read_text()
    # The registry's image and the proxy's.
    assert re.findall(r"\$\{TAG:-([^}]*)\}", compose) == [PROJECT_VERSION, PROJECT_VERSION]
    assert re.findall(r'^\s+VERSION: "([^"]*)"', compose, re.MULTILINE) == [PROJECT_VERSION]
