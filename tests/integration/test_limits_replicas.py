"""Limits hold across replicas: two `registry serve` processes on one database and one Redis
(LIMITS_URL), requests alternating between them. A per-key limit and a failed-login limit
each let exactly their number through in all, not twice it."""

import ipaddress
import os
import secrets
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_DATABASE_URL, committed_admin_key
from tests.integration.required import required_url
from tests.integration.stack import free_port, start_process, stop_processes, wait_for_api

pytestmark = pytest.mark.integration

PER_KEY_BURST = 12
FAILURES_PER_ADDRESS = 6


@pytest.fixture
def replicas(committed, tmp_path: Path) -> Iterator[list[str]]:
    """Two `registry serve` processes sharing the test database and Redis; their base URLs."""
    env = {
        **os.environ,
        "DATABASE_URL": TEST_DATABASE_URL,
        "BROKER_URL": "",
        "LIMITS_URL": required_url("TEST_REDIS_URL", "limits across replicas"),
        "LOG_LEVEL": "INFO",
        "API_METRICS_PORT": "0",
        "RATE_LIMIT_BURST": str(PER_KEY_BURST),
        "RATE_LIMIT_PER_MINUTE": "1",  # nothing refills while the test runs
        "AUTH_FAILURES_PER_ADDRESS": str(FAILURES_PER_ADDRESS),
        "AUTH_FAILURE_WINDOW_SECONDS": "3600",
        "FORWARDED_ALLOW_IPS": "127.0.0.1",  # the test names each client by X-Forwarded-For
    }
    processes, urls, logs = [], [], []
    try:
        for n in (1, 2):
            port = free_port()
            log = tmp_path / f"serve-{n}.log"
            processes.append(start_process(log, env | {"PORT": str(port)}, "registry", "serve"))
            urls.append(f"http://127.0.0.1:{port}")
            logs.append(log)
            wait_for_api(urls[-1], log.read_text, within=60)
        yield urls
    finally:
        stop_processes(processes)
    for log in logs:
        assert "shared by every API process" in log.read_text(), "each replica says where it counts"


def a_client_address() -> str:
    """An address of this run's own: Redis keeps counts between runs."""
    return str(ipaddress.IPv4Address("10.0.0.0") + secrets.randbelow(2**24))


async def alternating(urls: list[str], count: int, key_for) -> Counter[int]:
    """``count`` GETs of /v1/networks, alternating between the replicas; statuses counted."""
    statuses: Counter[int] = Counter()
    address = a_client_address()
    async with httpx.AsyncClient(timeout=30) as http:
        for n in range(count):
            response = await http.get(
                f"{urls[n % 2]}/v1/networks",
                headers={"Authorization": f"Bearer {key_for(n)}", "X-Forwarded-For": address},
            )
            statuses[response.status_code] += 1
            if response.status_code == 429:
                assert int(response.headers["retry-after"]) >= 1
    return statuses


async def test_a_per_key_limit_holds_across_two_replicas(replicas):
    key = await committed_admin_key()
    statuses = await alternating(replicas, 3 * PER_KEY_BURST, lambda n: key)
    assert statuses == {200: PER_KEY_BURST, 429: 2 * PER_KEY_BURST}
    other = await committed_admin_key()  # another key is not affected
    assert await alternating(replicas, 2, lambda n: other) == {200: 2}


async def test_a_failed_login_limit_holds_across_two_replicas(replicas):
    statuses = await alternating(
        replicas, 4 * FAILURES_PER_ADDRESS, lambda n: f"mnr_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    )
    assert statuses == {401: FAILURES_PER_ADDRESS, 429: 3 * FAILURES_PER_ADDRESS}
    key = await committed_admin_key()  # from another address, a valid key is let in by both
    assert await alternating(replicas, 2, lambda n: key) == {200: 2}
