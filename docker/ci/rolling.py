"""The rolling upgrade from the previous release's image to this one, and the rollback to it,
each under a load of reads and writes through the proxy (stack_check.py runs them).

The load is a client's: HTTPS through the proxy, trusting the dev CA only, one API key; a
writer creates entities (each with an Idempotency-Key, as a careful client does) and a reader
lists them and reads the newest written back. Both are paced under the key's rate limit
(600 a minute), so a 429 is a failure like any other. Every answer other than the one
expected counts as failed, and every write answered 201 must be readable afterwards.
"""

import os
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from stack import BASE_URL, CA, COMPOSE, ENV, ROOT, ok, say

# Requests a second, each thread: 4 + 4 stays under the key's 10 a second with room for the checks.
WRITES_PER_SECOND = float(os.environ.get("CI_STACK_LOAD_WRITES", "4"))
READS_PER_SECOND = float(os.environ.get("CI_STACK_LOAD_READS", "4"))


@dataclass
class Load:
    key: str
    prefix: str
    written: list[str] = field(default_factory=list)
    requests: int = 0
    reads: int = 0
    failures: list[str] = field(default_factory=list)
    slowest: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=BASE_URL, headers={"Authorization": f"Bearer {self.key}"}, timeout=60, verify=str(CA)
        )

    def _count(
        self, what: str, response: httpx.Response | None, error: Exception | None, want: int, took: float
    ) -> bool:
        with self.lock:
            self.requests += 1
            self.slowest = max(self.slowest, took)
            if error is not None or response is None or response.status_code != want:
                detail = (
                    f"{type(error).__name__}: {error}"
                    if response is None
                    else f"{response.status_code} {response.text[:200]}"
                )
                self.failures.append(f"{what}: {detail}")
                return False
            return True

    def _paced(self, per_second: float, step: Any) -> None:
        with self._client() as client:
            n = 0
            started = time.monotonic()
            while not self.stop.is_set():
                step(client, n)
                n += 1
                pause = started + n / per_second - time.monotonic()
                if pause > 0:
                    self.stop.wait(pause)

    def _write(self, client: httpx.Client, n: int) -> None:
        body = {"acronym": f"{self.prefix}{n:04d}", "name": f"Rolling load entity {n}", "kind": "un_system"}
        started = time.monotonic()
        response, error = None, None
        try:
            response = client.post("/v1/entities", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
        except httpx.HTTPError as e:
            error = e
        if self._count(f"POST /v1/entities #{n}", response, error, 201, time.monotonic() - started):
            assert response is not None
            with self.lock:
                self.written.append(response.json()["id"])

    def _read(self, client: httpx.Client, n: int) -> None:
        with self.lock:
            newest = self.written[-1] if self.written else None
        path = f"/v1/entities/{newest}" if newest and n % 2 else "/v1/entities?limit=5"
        started = time.monotonic()
        response, error = None, None
        try:
            response = client.get(path)
        except httpx.HTTPError as e:
            error = e
        self._count(f"GET {path}", response, error, 200, time.monotonic() - started)
        with self.lock:
            self.reads += 1

    def __enter__(self) -> "Load":
        self.threads = [
            threading.Thread(target=self._paced, args=(WRITES_PER_SECOND, self._write), daemon=True),
            threading.Thread(target=self._paced, args=(READS_PER_SECOND, self._read), daemon=True),
        ]
        self.started = time.monotonic()
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(90)
        self.duration = time.monotonic() - self.started

    def unreadable(self, client: httpx.Client) -> list[str]:
        """The writes answered 201 that the API does not list now."""
        listed: set[str] = set()
        params: dict[str, Any] = {"limit": 200}
        while True:
            page = client.get("/v1/entities", params=params)
            assert page.status_code == 200, page.text
            listed |= {item["id"] for item in page.json()["items"]}
            if not page.json().get("next_cursor"):
                break
            params["cursor"] = page.json()["next_cursor"]
        return [entity for entity in self.written if entity not in listed]


def roll(to: str) -> tuple[str, float]:
    """docker/rolling-upgrade.sh TO, as an operator runs it (Compose with this check's project)."""
    started = time.monotonic()
    # The commands are this check's own (the repository's script), never input from elsewhere.
    done = subprocess.run(  # noqa: S603
        ["bash", str(ROOT / "docker/rolling-upgrade.sh"), to],  # noqa: S607
        env={**ENV, "COMPOSE": " ".join(COMPOSE)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    for line in done.stdout.splitlines():
        say("  " + line)
    if done.returncode != 0:
        raise AssertionError(f"docker/rolling-upgrade.sh {to} exited {done.returncode}:\n{done.stderr[-4000:]}")
    summary = done.stdout.strip().splitlines()[-1]
    return summary.split("done: ", 1)[-1], time.monotonic() - started


def under_load(key: str, client: httpx.Client, to: str, version: str, prefix: str, what: str) -> None:
    """Rolls to the image tagged ``to`` (release ``version``) while the load runs; then 0 failed
    requests, every 201'd write listed, and /healthz through the proxy reporting ``version``."""
    with Load(key, prefix) as load:
        time.sleep(2)  # the load under way before the first replica moves
        summary, took = roll(to)
        time.sleep(2)  # and still running on the new replicas
    assert not load.failures, f"{len(load.failures)} failed request(s) during the {what}: {load.failures[:10]}"
    lost = load.unreadable(client)
    assert not lost, f"{len(lost)} write(s) answered 201 during the {what} are not there: {lost[:10]}"
    health = httpx.get(f"{BASE_URL}/healthz", timeout=10, verify=str(CA)).json()
    assert health["version"] == version and f"version {version};" in summary, (health, summary)
    ok(
        f"{what} to {to} under load in {took:.0f}s ({summary}): {load.requests} requests through the proxy in"
        f" {load.duration:.0f}s ({len(load.written)} writes, {load.reads} reads), 0 failed, 0 of"
        f" {len(load.written)} writes lost, slowest answer {load.slowest:.2f}s"
    )
