"""Load and bookkeeping for fault tests: writers and readers on threads that record every
outcome, and the database's view of what was saved and delivered."""

import asyncio
import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from tests.faults.stack import API_PORT, SWEEP_TIMEOUT_SECONDS

_acronyms = itertools.count(1)


@dataclass
class Outcome:
    kind: str  # "write" or "read"
    status: int | None  # None: a transport error (reset, refused, timeout)
    seconds: float
    retry_after: str | None = None
    acronym: str | None = None
    error: str | None = None
    port: int = API_PORT  # the API replica that answered
    problem: str | None = None  # a problem's type, its last path segment (``database-read-only``)
    finished: float = field(default_factory=time.monotonic)  # made when the answer came


@dataclass
class Load:
    """``threads`` callers, each alternating writes and reads (or only writes), until stopped."""

    key_header: dict[str, str]
    threads: int = 4
    ports: tuple[int, ...] = (API_PORT,)  # API replicas: caller n calls ports[n % len(ports)]
    calls: int | None = None  # at most this many calls in all, then the callers stop by themselves
    reads: bool = True
    pause: float = 0.0
    timeout: float = 10.0
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _made: "Iterator[int]" = field(default_factory=itertools.count)

    def start(self) -> "Load":
        for n in range(self.threads):
            thread = threading.Thread(target=self._run, args=(n,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> list[Outcome]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)
        return self.outcomes

    def _run(self, n: int) -> None:
        port = self.ports[n % len(self.ports)]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=self.key_header) as client:
            for i in itertools.count():
                if self._stop.is_set() or (self.calls is not None and next(self._made) >= self.calls):
                    return
                self._record(self.call(client, "read" if self.reads and i % 2 else "write"))
                if self.pause:
                    time.sleep(self.pause)

    def call(self, client: httpx.Client, kind: str) -> Outcome:
        acronym = f"F{next(_acronyms)}" if kind == "write" else None
        port = client.base_url.port or API_PORT
        started = time.monotonic()
        try:
            if kind == "write":
                response = client.post(
                    "/v1/entities",
                    json={"acronym": acronym, "name": f"Fault {acronym}", "kind": "un_system"},
                    timeout=self.timeout,
                )
            else:
                response = client.get("/v1/entities?limit=5", timeout=self.timeout)
        except httpx.TransportError as error:
            return Outcome(
                kind, None, time.monotonic() - started, acronym=acronym, error=type(error).__name__, port=port
            )
        problem = None
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            problem = str(response.json().get("type", "")).rsplit("/", 1)[-1]
        return Outcome(
            kind,
            response.status_code,
            time.monotonic() - started,
            response.headers.get("retry-after"),
            acronym,
            port=port,
            problem=problem,
        )

    def _record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)


def summary(outcomes: list[Outcome]) -> str:
    counts = Counter((o.kind, o.status if o.status is not None else o.error) for o in outcomes)
    slowest = max((o.seconds for o in outcomes), default=0.0)
    replicas = Counter(o.port for o in outcomes)
    spread = (
        "; per API replica " + ", ".join(f":{port} {n}" for port, n in sorted(replicas.items()))
        if len(replicas) > 1
        else ""
    )
    return ", ".join(f"{kind} {status}: {n}" for (kind, status), n in sorted(counts.items(), key=str)) + (
        f"; slowest {slowest:.2f} s{spread}"
    )


def query(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(database_url, timeout=10)
        try:
            return list(await connection.fetch(sql, *args))
        finally:
            await connection.close()

    return asyncio.run(run())


def wait_for_deliveries(stack: Any, *, within: float) -> tuple[set[str], Counter[str]]:
    """Wait until every webhook delivery row succeeded and the receiver has each id;
    returns (expected ids, received counts)."""
    deadline = time.monotonic() + within
    while True:
        rows = query(stack.database_url, "SELECT id, status::text FROM webhook_deliveries")
        expected = {"msg_" + row["id"].hex for row in rows}
        received = Counter(stack.receiver.ids())
        if rows and all(row["status"] == "succeeded" for row in rows) and set(received) >= expected:
            return expected, received
        if time.monotonic() > deadline:
            pending = Counter(row["status"] for row in rows)
            raise AssertionError(f"deliveries {pending}, received {len(received)} of {len(expected)}\n{stack.logs()}")
        time.sleep(0.5)


def saved_acronyms(database_url: str) -> set[str]:
    return {row["acronym"] for row in query(database_url, "SELECT acronym FROM entities")}


def sweep_overlaps(database_url: str) -> tuple[int, list[tuple[Any, ...]]]:
    """How many sweeps the log holds, and every pair where one started before the last ended."""
    rows = query(
        database_url,
        "SELECT scheduler_id, started_at, finished_at FROM scheduler_sweeps ORDER BY started_at",
    )
    overlaps = []
    for before, after in itertools.pairwise(rows):
        # a sweep that did not log its end was cut off SCHEDULER_SWEEP_TIMEOUT_SECONDS after its start
        ended = before["finished_at"] or before["started_at"] + timedelta(seconds=SWEEP_TIMEOUT_SECONDS)
        if after["started_at"] < ended:
            overlaps.append((before["scheduler_id"], after["scheduler_id"], after["started_at"]))
    return len(rows), overlaps
