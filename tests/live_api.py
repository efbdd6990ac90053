"""The API as a real process (`registry serve`) on a loopback port, for tests that need a
browser or an outside tool to reach it over HTTP."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.integration.stack import free_port

BIN = Path(sys.executable).parent


def api_environment(**settings: str) -> dict[str, str]:
    """This process's environment without settings a test should not inherit, plus ``settings``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JWT_", "RATE_LIMIT_", "BROKER_URL", "LIMITS_", "AUTH_FAILURE", "CALENDAR_FAILURES"))
    }
    return env | settings


@contextmanager
def live_api(env: dict[str, str], log: Path) -> Iterator[str]:
    """``registry serve`` with ``env`` on a free port; yields its base URL once /healthz answers."""
    port = free_port()
    env = env | {"PORT": str(port), "HOST": "127.0.0.1"}
    with log.open("w") as output:
        server = subprocess.Popen([str(BIN / "registry"), "serve"], env=env, stdout=output, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"the API did not start; see {log}")
                time.sleep(0.5)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)
