"""`make bench`: the benchmark suite (docs/BENCHMARKS.md), on real PostgreSQL and RabbitMQ, with wrk.

    BENCH_SIZE=small make bench     # CI: under 3 minutes
    BENCH_SIZE=full make bench      # the full Network: under 30 minutes on 2 cores

Generates (or reuses) the size's database (tests/benchmarks/generate.py), then measures, in
one run, the registry as production runs it (`registry serve`: uvicorn, uvloop, httptools,
one process; `dramatiq worker.main:setup` worker processes on RabbitMQ) and the plain Starlette +
asyncpg baseline (tests/benchmarks/baseline_app.py):

- reads: row by id and a 50-row keyset page, baseline and registry alternately, each twice,
  each round a fresh process; requests/s, p50, p99, server CPU per request, RSS, ratio;
- conditional GET: If-None-Match with the current ETag, every answer a 304;
- writes: POST /v1/entities and POST /v1/memberships (each with its event and audit row) at
  8 and 32 connections;
- delivery: webhook throughput against a bare httpx loop posting the same signed bodies to
  the same receiver; commit-to-receipt p50/p99 at 100 events/s;
- the coverage table, the indicators and the activity report of a network;
- the scheduler's sweep; growth: a full run measures the small size's reads and sweep too,
  a small run compares with the last full results if there are any;
- memory: API and worker RSS (peak under load).

Writes test-artifacts/bench-<size>.json and prints a table. Fails (exit 1) when anything
answers other than expected (a read not 200, a write not 201, a 304 not a 304, a delivery
missing), never for a missed target: those are reported, marked "MISSED".

Settings: DATABASE_URL (the server), BENCH_BROKER_URL or TEST_RABBITMQ_URL (default
amqp://guest:guest@127.0.0.1:5672/), BENCH_SIZE and the counts of generate.py,
BENCH_SECONDS (per measure: 3 small, 10 full), BENCH_WORKER_PROCESSES (2).
"""

import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.benchmarks.generate import Size, ensure_database, plain_dsn, server_url, size_from_env
from tests.benchmarks.load import (
    BIN,
    ROOT,
    Process,
    WrkResult,
    entity_post_script,
    free_port,
    get_script,
    membership_post_script,
    wrk,
)

RESULTS = ROOT / "test-artifacts"


class Failure(Exception):
    """Something answered other than it must: the run fails."""


def check(result: WrkResult, what: str) -> WrkResult:
    if result.errors or result.bad_statuses:
        raise Failure(f"{what}: {result.errors} socket errors, unexpected statuses {result.bad_statuses}")
    return result


class Bench:
    def __init__(self, size: Size, bench_url: str) -> None:
        self.size = size
        self.bench_url = bench_url
        self.dsn = plain_dsn(bench_url)
        self.seconds = float(os.environ.get("BENCH_SECONDS", "10" if size.name == "full" else "3"))
        self.broker_url = (
            os.environ.get("BENCH_BROKER_URL")
            or os.environ.get("TEST_RABBITMQ_URL")
            or "amqp://guest:guest@127.0.0.1:5672/"
        )
        self.receiver_port = free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": bench_url,
            "BENCH_DSN": self.dsn,
            "BROKER_URL": self.broker_url,
            "LOG_LEVEL": "WARNING",
            "LOAD_DEMO_DATA": "false",
            "SHUTDOWN_DRAIN_SECONDS": "0",  # each app stops at once between measures
            "RATE_LIMIT_BURST": "100000000",
            "RATE_LIMIT_PER_MINUTE": "100000000",
            "WEBHOOK_ALLOWED_PRIVATE_HOSTS": '["127.0.0.1"]',
        }
        self.results: dict[str, Any] = {}
        self.startups: list[dict[str, float]] = []

    # -- setup ------------------------------------------------------------------------------

    async def prepare(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            # Left by an earlier run: endpoints it created, events it did not get to relay.
            await conn.execute("DELETE FROM webhook_endpoints WHERE owner_principal_id <> 'bench'")
            await conn.execute("UPDATE events SET published_at = now() WHERE published_at IS NULL")
            ids = await conn.fetch(
                "SELECT id FROM entities WHERE acronym ~ '^(HQ|OFF)[0-9]+$'"
                # a page after any of them is a full 50 rows
                " AND id < (SELECT id FROM entities ORDER BY id DESC OFFSET 50 LIMIT 1)"
                " ORDER BY md5(id::text) LIMIT 1000"
            )
            self.entity_ids = [str(r["id"]) for r in ids]
            self.network_ids = [str(r["id"]) for r in await conn.fetch("SELECT id FROM networks ORDER BY name")]
            self.global_network = str(await conn.fetchval("SELECT id FROM networks WHERE scope = 'global'"))
            # Entities of this run only, for membership writes: no earlier run's periods to collide with.
            run = uuid.uuid4().hex[:8]
            self.run_tag = run
            self.writer_entities = [
                str(r["id"])
                for r in await conn.fetch(
                    "INSERT INTO entities (id, acronym, name, kind) SELECT gen_random_uuid(), 'W' || $1 || '-' || i,"
                    " 'Benchmark member ' || i, 'un_system' FROM generate_series(1, 200) AS i RETURNING id",
                    run,
                )
            ]
        finally:
            await conn.close()
        created = await asyncio.to_thread(
            subprocess.run,
            [str(BIN / "registry"), "create-admin-key", "--name", f"benchmark {self.run_tag}"],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        key = next(w for w in created.stdout.split() if w.startswith("mnr_"))
        self.auth = {"Authorization": f"Bearer {key}"}

    def start_api(self, tag: str) -> Process:
        port = free_port()
        started = time.monotonic()
        api = Process(f"api-{tag}", [str(BIN / "registry"), "serve"], {**self.env, "PORT": str(port)})
        api.wait_http(f"http://127.0.0.1:{port}/healthz", poll=0.02)
        # From the command to the first answer: every start counts (the best is reported).
        self.startups.append(
            {"ready_seconds": round(time.monotonic() - started, 2), "cpu_seconds": round(api.cpu(), 2)}
        )
        api.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
        return api.sample_rss()

    def start_baseline(self, tag: str) -> Process:
        port = free_port()
        command = [str(BIN / "uvicorn"), "tests.benchmarks.baseline_app:app", "--port", str(port)]
        command += ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
        baseline = Process(f"baseline-{tag}", command, self.env)
        baseline.wait_http(f"http://127.0.0.1:{port}/page")
        baseline.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
        return baseline.sample_rss()

    def start_workers(self, tag: str) -> Process:
        processes = os.environ.get("BENCH_WORKER_PROCESSES", "2")
        command = [str(BIN / "dramatiq"), "worker.main:setup", "--processes", processes, "--threads", "4"]
        workers = Process(f"workers-{tag}", command, self.env)
        deadline = time.monotonic() + 30
        while len(workers.pids()) < int(processes) or workers.pids() == [workers.pid]:
            if time.monotonic() > deadline or workers.popen.poll() is not None:
                raise Failure(f"the workers did not start:\n{workers.log_tail()}")
            time.sleep(0.2)
        time.sleep(2)  # connected to the broker, actors declared
        return workers.sample_rss()

    def check_broker_is_ours(self) -> None:
        """Workers of another project on the same broker (and vhost) would take the benchmark's
        messages and find nothing to do: the deliveries would stall. Refuse to measure then."""
        import pika

        connection = pika.BlockingConnection(pika.URLParameters(self.broker_url))
        try:
            channel = connection.channel()
            try:
                consumers = channel.queue_declare("default", passive=True).method.consumer_count
            except pika.exceptions.ChannelClosedByBroker:
                return  # no queue yet: nobody consumes it
        finally:
            connection.close()
        if consumers:
            raise Failure(
                f"{consumers} other consumers are on the broker's default queue ({self.broker_url}); give the "
                "benchmark a broker or vhost of its own (BENCH_BROKER_URL=amqp://.../registry_bench)"
            )

    # -- reads ------------------------------------------------------------------------------

    def measure_reads(self) -> None:
        from services.pagination import encode_cursor

        by_id = [f"/v1/entities/{i}" for i in self.entity_ids]
        pages = [f"/v1/entities?limit=50&cursor={encode_cursor(uuid.UUID(i))}" for i in self.entity_ids]
        base_by_id = [f"/row/{i}" for i in self.entity_ids]
        base_pages = [f"/page?after={i}" for i in self.entity_ids]
        rounds: list[dict[str, Any]] = []
        for n in (1, 2):
            one: dict[str, Any] = {}
            baseline = self.start_baseline(f"round{n}")
            try:
                one["baseline"] = self._read_pair(baseline, base_by_id, base_pages, {})
            finally:
                baseline.stop()
            api = self.start_api(f"reads-round{n}")
            try:
                one["registry"] = self._read_pair(api, by_id, pages, self.auth)
                one["registry"]["peak_rss_mb"] = api.peak_rss
            finally:
                api.stop()
            rounds.append(one)
        self.results["reads"] = {"rounds": rounds, "best": _best_of(rounds)}

    def _read_pair(self, app: Process, by_id: list[str], pages: list[str], headers: dict[str, str]) -> dict[str, Any]:
        url = app.url  # type: ignore[attr-defined]
        wrk(url, get_script(by_id), connections=32, seconds=1, headers=headers)  # warm: pool, caches
        out = {}
        for name, paths in (("row_by_id", by_id), ("page_50", pages)):
            out[name] = check(
                wrk(url, get_script(paths), connections=32, seconds=self.seconds, headers=headers, server=app),
                f"{app.name} {name}",
            ).as_dict()
        return out

    def measure_conditional(self, api: Process) -> None:
        paths = [f"/v1/entities/{i}" for i in self.entity_ids[:200]]
        etags = []
        with httpx.Client(base_url=api.url, headers=self.auth) as client:  # type: ignore[attr-defined]
            for path in paths:
                response = client.get(path)
                if response.status_code != 200 or "etag" not in response.headers:
                    raise Failure(f"GET {path}: {response.status_code}, ETag {response.headers.get('etag')}")
                etags.append({"If-None-Match": response.headers["etag"].replace('"', '\\"')})
        result = wrk(
            api.url,  # type: ignore[attr-defined]
            get_script(paths, etags),
            connections=32,
            seconds=self.seconds,
            headers=self.auth,
            expected=(304,),
            server=api,
        )
        self.results["conditional_get"] = check(result, "If-None-Match").as_dict()

    # -- list routes ------------------------------------------------------------------------

    async def list_routes(self) -> dict[str, tuple[str, str]]:
        """Each list route of the API at its default page size, and the by-hand query of the
        same rows (baseline_app.LIST_QUERIES): name → (registry path, baseline path). A nested
        list is read under the parent with the most rows."""
        conn = await asyncpg.connect(self.dsn)

        async def busiest(query: str) -> str:
            found = await conn.fetchval(query)
            return str(found or uuid.uuid4())  # none: an empty list, still a list route's work

        try:
            parents = {
                "group": await busiest(
                    "SELECT working_group_id FROM working_group_posts GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                ),
                "review": await busiest(
                    "SELECT review_id FROM review_recommendations GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                ),
                "endpoint": await busiest(
                    "SELECT endpoint_id FROM webhook_deliveries GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                ),
                "workplan": await busiest(
                    "SELECT workplan_id FROM workplan_activities GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                ),
                "person": await busiest(
                    "SELECT person_id FROM focal_point_posts GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                ),
            }
        finally:
            await conn.close()
        network, group = self.global_network, parents["group"]
        nested = {
            "network memberships": (f"/v1/networks/{network}/memberships", network),
            "network posts": (f"/v1/networks/{network}/posts", network),
            "working group chairs": (f"/v1/working-groups/{group}/chairs", group),
            "working group members": (f"/v1/working-groups/{group}/members", group),
            "review recommendations": (
                f"/v1/reviews/{parents['review']}/recommendations",
                parents["review"],
            ),
            "webhook deliveries": (
                f"/v1/webhook-endpoints/{parents['endpoint']}/deliveries",
                parents["endpoint"],
            ),
            "workplan activities": (
                f"/v1/workplans/{parents['workplan']}/activities",
                parents["workplan"],
            ),
            "champion countries": (f"/v1/networks/{network}/champion-countries", network),
            "person posts": (f"/v1/people/{parents['person']}/posts", parents["person"]),
        }
        top = {
            "entities": "/v1/entities",
            "networks": "/v1/networks",
            "memberships": "/v1/memberships",
            "working groups": "/v1/working-groups",
            "mous": "/v1/mous",
            "reviews": "/v1/reviews",
            "meetings": "/v1/meetings",
            "webhook endpoints": "/v1/webhook-endpoints",
            "api keys": "/v1/api-keys",
            "audit log": "/v1/audit-log",
            "calendar subscriptions": "/v1/calendar-subscriptions",
            "workplans": "/v1/workplans",
            "pledges": "/v1/pledges",
            "people": "/v1/people",
        }
        routes = {name: (path, f"/list/{name.replace(' ', '-')}") for name, path in top.items()}
        for name, (path, parent) in nested.items():
            routes[name] = (path, f"/list/{name.replace(' ', '-')}?parent={parent}")
        return routes

    def measure_lists(self, api: Process) -> None:
        """Every list route against its by-hand query, one after the other (16 connections,
        BENCH_LIST_SECONDS each: 2 by default, 1 at the small size, so that CI's table of 23
        routes, 46 measures, takes under a minute; wrk counts whole seconds)."""
        seconds = float(os.environ.get("BENCH_LIST_SECONDS", "1" if self.size.name == "small" else "2"))
        started = time.monotonic()
        routes = asyncio.run(self.list_routes())
        baseline = self.start_baseline("lists")
        out: dict[str, Any] = {}
        try:
            for name, (path, by_hand_path) in sorted(routes.items()):
                mine = check(
                    wrk(api.url, get_script([path]), connections=16, seconds=seconds, headers=self.auth, server=api),  # type: ignore[attr-defined]
                    f"GET {path}",
                )
                theirs = check(
                    wrk(baseline.url, get_script([by_hand_path]), connections=16, seconds=seconds, server=baseline),  # type: ignore[attr-defined]
                    f"baseline {by_hand_path}",
                )
                out[name] = {
                    "path": path,
                    "registry": mine.as_dict(),
                    "baseline": theirs.as_dict(),
                    "ratio": round(mine.rps / max(theirs.rps, 0.001), 3),
                }
        finally:
            baseline.stop()
        self.results["lists"] = out
        self.results["lists_seconds"] = {"each": int(seconds), "took": round(time.monotonic() - started, 1)}

    # -- writes -----------------------------------------------------------------------------

    def measure_writes(self, api: Process) -> None:
        """Each write, at 8 and 32 connections, done by hand (the baseline: the row, its event
        and its audit entry in one transaction through asyncpg) and by the registry, one after
        the other, so the ratio compares the same moment of a shared machine."""
        days = [(date(2019, 1, 1) + timedelta(days=d)).isoformat() for d in range(2000)]
        out: dict[str, Any] = {}
        by_hand: dict[str, Any] = {}
        baseline = self.start_baseline("writes")
        try:
            for connections in (8, 32):
                for app, base_path, results in ((baseline, "", by_hand), (api, "/v1", out)):
                    headers = self.auth if app is api else {}
                    prefix = f"W{self.run_tag}{'b' if app is baseline else ''}c{connections}"
                    results[f"entities_c{connections}"] = check(
                        wrk(
                            app.url,  # type: ignore[attr-defined]
                            entity_post_script(prefix, f"{base_path}/entities"),
                            connections=connections,
                            seconds=self.seconds,
                            headers=headers,
                            expected=(201,),
                            server=app,
                        ),
                        f"{app.name} POST /entities c{connections}",
                    ).as_dict()
                    # Each connection level and app gets entities of its own: no two periods meet.
                    results[f"memberships_c{connections}"] = check(
                        wrk(
                            app.url,  # type: ignore[attr-defined]
                            membership_post_script(
                                self.network_ids,
                                self._writer_quarter(connections, app is baseline),
                                days,
                                f"{base_path}/memberships",
                            ),
                            connections=connections,
                            seconds=self.seconds,
                            headers=headers,
                            expected=(201,),
                            server=app,
                        ),
                        f"{app.name} POST /memberships c{connections}",
                    ).as_dict()
        finally:
            baseline.stop()
        self.results["writes"] = out
        self.results["writes_baseline"] = by_hand

    def _writer_quarter(self, connections: int, baseline: bool) -> list[str]:
        quarter = len(self.writer_entities) // 4
        index = (0 if connections == 8 else 2) + (1 if baseline else 0)
        return self.writer_entities[index * quarter : (index + 1) * quarter]

    async def settle_relay(self, within: float) -> int:
        """Give the relay ``within`` seconds to publish the writes' events; the rest are marked
        published here, so that the delivery measure sends only its own. Returns how many."""
        conn = await asyncpg.connect(self.dsn)
        try:
            deadline = time.monotonic() + within
            pending = 0
            while time.monotonic() < deadline:
                pending = await conn.fetchval("SELECT count(*) FROM events WHERE published_at IS NULL")
                if pending == 0:
                    return 0
                await asyncio.sleep(0.5)
            await conn.execute("UPDATE events SET published_at = now() WHERE published_at IS NULL")
            return int(pending)
        finally:
            await conn.close()

    # -- delivery ---------------------------------------------------------------------------

    def measure_delivery(self, api: Process, workers: Process) -> None:
        """Latency with the workers already running (they served the writes), then, once they
        are stopped, throughput on a backlog."""
        receiver = Process(
            "receiver",
            [
                str(BIN / "uvicorn"),
                "tests.benchmarks.receiver:app",
                *("--port", str(self.receiver_port), "--loop", "uvloop", "--http", "httptools"),
                *("--no-access-log", "--log-level", "warning"),
            ],
            self.env,
        )
        hook_url = f"http://127.0.0.1:{self.receiver_port}"
        receiver.wait_http(f"{hook_url}/stats")
        client = httpx.Client(base_url=api.url, headers=self.auth, timeout=30)  # type: ignore[attr-defined]
        try:
            created = client.post(
                "/v1/webhook-endpoints", json={"url": f"{hook_url}/hook", "event_types": ["entity.*"]}
            )
            if created.status_code != 201:
                raise Failure(f"creating the endpoint: {created.status_code} {created.text}")
            endpoint = created.json()
            self._latency(client, hook_url, workers)
            workers.stop()
            self._throughput(client, hook_url, endpoint)
        finally:
            client.close()
            receiver.stop()

    def _create_entities(self, client: httpx.Client, count: int, tag: str, per_second: float | None = None) -> None:
        """``count`` entity creations (each an entity.created event), paced when asked."""

        async def run() -> None:
            # Open loop when paced: requests the API has not answered yet wait for a connection as
            # long as it takes (the API's own pace shows in events_per_s_achieved).
            limits = httpx.Limits(max_connections=64, keepalive_expiry=2)  # under uvicorn's 5 s keep-alive
            timeout = httpx.Timeout(60, pool=None)
            async with httpx.AsyncClient(
                base_url=client.base_url, headers=self.auth, timeout=timeout, limits=limits
            ) as ac:
                started = time.monotonic()

                async def one(i: int) -> None:
                    if per_second:
                        await asyncio.sleep(max(0.0, started + i / per_second - time.monotonic()))
                    body = {"acronym": f"D{self.run_tag}{tag}-{i}", "name": f"Delivery {i}", "kind": "un_system"}
                    response = await ac.post("/v1/entities", json=body)
                    if response.status_code != 201:
                        raise Failure(f"POST /v1/entities: {response.status_code} {response.text}")

                if per_second:
                    await asyncio.gather(*(one(i) for i in range(count)))
                else:
                    semaphore = asyncio.Semaphore(16)

                    async def bounded(i: int) -> None:
                        async with semaphore:
                            await one(i)

                    await asyncio.gather(*(bounded(i) for i in range(count)))

        asyncio.run(run())

    def _wait_received(self, hook_url: str, count: int, within: float) -> list[list[Any]]:
        deadline = time.monotonic() + within
        while True:
            received = httpx.get(f"{hook_url}/stats").json()
            if len(received) >= count:
                return received  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise Failure(f"only {len(received)} of {count} webhooks arrived within {within:.0f} s")
            time.sleep(0.2)

    def _throughput(self, client: httpx.Client, hook_url: str, endpoint: dict[str, Any]) -> None:
        """A backlog written while no worker runs, then sent by freshly started workers;
        the same bodies, signed the same way, posted by a bare httpx loop."""
        count = 100 if self.size.name == "small" else 1000
        self._create_entities(client, count, "t")
        httpx.post(f"{hook_url}/reset")
        workers = self.start_workers("throughput")
        try:
            received = self._wait_received(hook_url, count, within=120 + count / 5)
            self.worker_rss = workers.peak_rss
        finally:
            workers.stop()
        arrivals = sorted(r[0] for r in received)
        worker_rate = (len(arrivals) - 1) / max(arrivals[-1] - arrivals[0], 1e-6)
        bodies = asyncio.run(self._signed_bodies(endpoint, [r[2] for r in received]))
        httpx.post(f"{hook_url}/reset")
        with httpx.Client(timeout=30) as bare:
            started = time.perf_counter()
            for body, headers in bodies:
                response = bare.post(f"{hook_url}/hook", content=body, headers=headers)
                if response.status_code != 204:
                    raise Failure(f"receiver: {response.status_code}")
            bare_rate = len(bodies) / (time.perf_counter() - started)
        self.results["delivery_throughput"] = {
            "webhooks": count,
            "worker_processes": int(os.environ.get("BENCH_WORKER_PROCESSES", "2")),
            "workers_per_s": round(worker_rate, 1),
            "bare_httpx_per_s": round(bare_rate, 1),
            "ratio": round(worker_rate / bare_rate, 3),
        }

    async def _signed_bodies(
        self, endpoint: dict[str, Any], webhook_ids: list[str]
    ) -> list[tuple[bytes, dict[str, str]]]:
        """What the worker sent: services.webhooks.delivery's body and signature, per delivery."""
        from standardwebhooks.webhooks import Webhook

        from services.webhooks.delivery import body_for

        conn = await asyncpg.connect(self.dsn)
        try:
            rows = await conn.fetch(
                "SELECT e.* FROM events e JOIN webhook_deliveries d ON d.event_id = e.id"
                " WHERE d.endpoint_id = $1 ORDER BY e.position",
                uuid.UUID(endpoint["id"]),
            )
        finally:
            await conn.close()
        from services.events.models import Event

        signer = Webhook(endpoint["secret"])
        out = []
        for row, msg_id in zip(rows, webhook_ids, strict=False):
            event = Event(**{k: (json.loads(v) if k == "payload" else v) for k, v in dict(row).items()})
            body = body_for(event, for_admin=True)
            now = datetime.now(UTC)
            out.append(
                (
                    body,
                    {
                        "content-type": "application/json",
                        "webhook-id": msg_id,
                        "webhook-timestamp": str(int(now.timestamp())),
                        "webhook-signature": signer.sign(msg_id, now, body.decode()),
                    },
                )
            )
        return out

    def _latency(self, client: httpx.Client, hook_url: str, workers: Process) -> None:
        rate = 100.0
        count = int(rate * (2 if self.size.name == "small" else self.seconds))
        httpx.post(f"{hook_url}/reset")
        self._create_entities(client, count, "l", per_second=rate)
        received = self._wait_received(hook_url, count, within=60 + count / 5)
        self.worker_rss = max(getattr(self, "worker_rss", 0.0), workers.peak_rss)
        latencies = sorted((r[0] - r[1]) * 1000 for r in received)
        committed = sorted(r[1] for r in received)
        self.results["delivery_latency"] = {
            "events_per_s": rate,
            "events_per_s_achieved": round((len(committed) - 1) / max(committed[-1] - committed[0], 1e-6), 1),
            "events": count,
            "p50_ms": round(_percentile(latencies, 50), 1),
            "p99_ms": round(_percentile(latencies, 99), 1),
            "max_ms": round(latencies[-1], 1),
        }

    # -- reports, sweep ---------------------------------------------------------------------

    def measure_reports(self, api: Process) -> None:
        today = date.today()
        paths = {
            "coverage": f"/v1/networks/{self.global_network}/coverage",
            "indicators": f"/v1/networks/{self.global_network}/indicators",
            "activity_report": f"/v1/networks/{self.global_network}/reports/activity"
            f"?from={today - timedelta(days=365)}&to={today}",
        }
        out = {}
        with httpx.Client(base_url=api.url, headers=self.auth, timeout=120) as client:  # type: ignore[attr-defined]
            for name, path in paths.items():
                timings = []
                for _ in range(5):
                    started = time.perf_counter()
                    response = client.get(path)
                    timings.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        raise Failure(f"GET {path}: {response.status_code} {response.text[:300]}")
                out[name] = {"median_ms": round(statistics.median(timings), 1), "max_ms": round(max(timings), 1)}
        self.results["reports"] = out

    def measure_sweep(self, bench_url: str) -> dict[str, Any]:
        env = {k: v for k, v in self.env.items() if k != "BROKER_URL"} | {"DATABASE_URL": bench_url}
        done = subprocess.run(
            [sys.executable, "-m", "tests.benchmarks.sweep"], env=env, cwd=ROOT, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise Failure(f"the sweep failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> None:
        started = time.monotonic()

        def phase(name: str) -> None:
            print(f"[{time.monotonic() - started:6.1f} s] {name}", flush=True)

        asyncio.run(self.prepare())
        self.check_broker_is_ours()
        phase("reads: baseline and registry, two rounds")
        self.measure_reads()
        api = self.start_api("writes")
        try:
            phase("conditional GET")
            self.measure_conditional(api)
            workers = self.start_workers("writes")  # as in production: the relay runs while writes come in
            try:
                phase("writes")
                self.measure_writes(api)
                self.worker_rss = workers.peak_rss
                self.results["writes"]["events_left_to_relay"] = asyncio.run(self.settle_relay(within=10))
                phase("webhook delivery")
                self.measure_delivery(api, workers)
            finally:
                workers.stop()
            phase("every list route against its by-hand query")
            self.measure_lists(api)
            phase("coverage, indicators, activity report")
            self.measure_reports(api)
            self.results["memory"] = {
                "api_peak_rss_mb": round(api.peak_rss, 1),
                "worker_peak_rss_mb": round(self.worker_rss, 1),
            }
        finally:
            api.stop()
        self.results["startup"] = {
            "starts": self.startups,
            "best_ready_seconds": min(s["ready_seconds"] for s in self.startups),
            "imports": import_times(),
        }
        phase("the scheduler's sweep")
        self.results["sweep"] = self.measure_sweep(self.bench_url)
        phase("done")
        self.results["measure_seconds"] = round(time.monotonic() - started, 1)


def import_times(top: int = 12) -> dict[str, Any]:
    """What importing the API costs (``python -X importtime``): the CPU time of the whole (wall
    time on a shared machine says more about the neighbours), and the modules that take
    longest by themselves."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import api.cli.composition"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            rows.append((int(parts[0]), int(parts[1]), parts[2].strip()))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "cpu_seconds": round(cpu, 2),
        "wall_ms": round(sum(own for own, _, _ in rows) / 1000, 1),
        "slowest": [{"module": name, "own_ms": round(own / 1000, 1)} for own, _, name in sorted(rows)[::-1][:top]],
    }


def _percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def _best_of(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Per app and read, the round with more requests/s (both rounds are kept in the JSON)."""
    best: dict[str, Any] = {}
    for app in ("baseline", "registry"):
        best[app] = {}
        for read in ("row_by_id", "page_50"):
            best[app][read] = max((r[app][read] for r in rounds), key=lambda r: r["rps"])
    for read in ("row_by_id", "page_50"):
        best.setdefault("ratio", {})[read] = round(best["registry"][read]["rps"] / best["baseline"][read]["rps"], 3)
    return best


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    return f"{os.cpu_count()} cores ({cpu}), {memory} GB RAM, {platform.system()} {platform.release()}"


async def _postgres_version(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def main() -> None:
    # Stopped by SIGTERM: the finally blocks stop every process this run started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    size = size_from_env()
    url = server_url()
    run_started = time.monotonic()
    bench_url, generated_seconds = asyncio.run(ensure_database(url, size))
    bench = Bench(size, bench_url)
    results: dict[str, Any] = {
        "size": size.name,
        "counts": {k: v for k, v in size.__dict__.items() if k != "name"},
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "postgresql": asyncio.run(_postgres_version(bench.dsn)),
        "load_average_at_start": os.getloadavg()[0],
        "seconds_per_measure": bench.seconds,
        "wrk": "wrk -t1 --latency; reads and conditional GET at -c32",
        "generated_seconds": generated_seconds,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"bench-{size.name}.json"
    try:
        bench.run()
    except Exception as failure:
        # What was measured is kept, with the failure, in a file of its own.
        results |= bench.results | {"failed": f"{type(failure).__name__}: {failure}"}
        failed_path = RESULTS / f"bench-{size.name}-failed.json"
        failed_path.write_text(json.dumps(results, indent=2, default=str))
        print(
            f"\nBENCHMARK FAILED: {type(failure).__name__}: {failure} (what was measured: {failed_path})",
            file=sys.stderr,
        )
        if not isinstance(failure, Failure):
            raise
        sys.exit(1)
    results |= bench.results
    growth = _growth(size, url, bench, results)
    if growth:
        results["growth"] = growth
    results["total_seconds"] = round(time.monotonic() - run_started, 1)
    path.write_text(json.dumps(results, indent=2, default=str))
    from tests.benchmarks.table import render

    print(render(results))
    print(f"\nresults: {path.relative_to(ROOT)}")


def _growth(size: Size, url: str, bench: Bench, results: dict[str, Any]) -> dict[str, Any] | None:
    """Full runs measure the small size's reads and sweep in the same run; small runs compare
    with the last full run's file, when there is one (and say so)."""
    if size.name == "full":
        small = size_from_env("small")
        small_url, _ = asyncio.run(ensure_database(url, small, log=False))
        other = Bench(small, small_url)
        other.seconds = bench.seconds
        asyncio.run(other.prepare())
        api = other.start_api("growth-small")
        try:
            from services.pagination import encode_cursor

            small_reads = {}
            for name, paths in (
                ("row_by_id", [f"/v1/entities/{i}" for i in other.entity_ids]),
                ("page_50", [f"/v1/entities?limit=50&cursor={encode_cursor(uuid.UUID(i))}" for i in other.entity_ids]),
            ):
                wrk(api.url, get_script(paths), connections=32, seconds=1, headers=other.auth)  # type: ignore[attr-defined]
                small_reads[name] = check(
                    wrk(
                        api.url,
                        get_script(paths),
                        connections=32,
                        seconds=bench.seconds,
                        headers=other.auth,
                        server=api,
                    ),  # type: ignore[attr-defined]
                    f"small {name}",
                ).as_dict()
        finally:
            api.stop()
        small_results = {"reads": small_reads, "sweep": other.measure_sweep(small_url), "source": "this run"}
        full_results = {"reads": results["reads"]["best"]["registry"], "sweep": results["sweep"]}
    else:
        last_full = RESULTS / "bench-full.json"
        if not last_full.exists():
            return None
        full = json.loads(last_full.read_text())
        small_results = {"reads": results["reads"]["best"]["registry"], "sweep": results["sweep"], "source": "this run"}
        full_results = {
            "reads": full["reads"]["best"]["registry"],
            "sweep": full["sweep"],
            "source": f"the last full run ({full['started_at']})",
        }
    return {
        "small": small_results,
        "full": full_results,
        "slowdown": {
            "row_by_id": round(
                small_results["reads"]["row_by_id"]["rps"] / full_results["reads"]["row_by_id"]["rps"], 2
            ),
            "page_50": round(small_results["reads"]["page_50"]["rps"] / full_results["reads"]["page_50"]["rps"], 2),
            "sweep": round(full_results["sweep"]["median_ms"] / max(small_results["sweep"]["median_ms"], 0.001), 2),
        },
    }


if __name__ == "__main__":
    main()
