"""Prometheus metrics: their names, in one place, and the collectors that read the database
and the connection pools when Prometheus scrapes (never on the request path).

Which process exposes what (each on its own port, ``*_METRICS_PORT``):

- the API: requests (``registry_http_*``) and its connection pool;
- the worker: actor messages and delivery outcomes (``registry_worker_*``,
  ``registry_deliveries_total{transport}``, and as before ``registry_webhook_deliveries_total``,
  ``registry_email_deliveries_total``,
  ``registry_webhook_endpoints_disabled_total``), from every worker process at once
  (prometheus_client's multiprocess mode);
- the scheduler: its sweeps, its pool, and the gauges read from the database and the broker
  at scrape time (outbox, deliveries due, endpoints disabled or failing, queue depth, reviews
  and recommendations overdue).

``registry run`` serves all of them from one port."""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable, Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import text

from services.database import get_database, open_databases

logger = logging.getLogger("services.observability")

# Requests, by route template (never the raw path: ids and calendar tokens stay out) and status.
HTTP_REQUESTS = Counter(
    "registry_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "registry_http_request_duration_seconds",
    "Time from a request's arrival to its last response byte, by method, route template and status.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# Limits (api.limits): no address, key prefix or caller in a label, only the kind.
AUTH_FAILURES = Counter(
    "registry_auth_failures_total",
    "Failed authentications, by kind (api_key, token, malformed, calendar_token).",
    ["kind"],
)
RATE_LIMITED = Counter(
    "registry_rate_limited_total",
    "Requests refused with 429, by the limit that refused them.",
    ["limit"],
)
LIMITS_STORE_ERRORS = Counter(
    "registry_limits_store_errors_total",
    "Times the shared limits store (LIMITS_URL) did not answer; the process then counted alone.",
)

# Worker.
WORKER_MESSAGES = Counter(
    "registry_worker_messages_total",
    "Actor messages processed, by actor and outcome (ok, error).",
    ["actor", "outcome"],
)
WORKER_DURATION = Histogram(
    "registry_worker_message_duration_seconds",
    "Time spent processing an actor message, by actor.",
    ["actor"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0),
)
DELIVERIES = Counter(
    "registry_deliveries_total",
    "Delivery attempts, by transport (webhook, email) and outcome (succeeded, retrying, failed, disabled).",
    ["transport", "outcome"],
)
# The same counts under their names from before the one engine (kept for existing dashboards).
WEBHOOK_DELIVERIES = Counter(
    "registry_webhook_deliveries_total",
    "Webhook delivery attempts, by outcome (succeeded, retrying, failed, disabled).",
    ["outcome"],
)
EMAIL_DELIVERIES = Counter(
    "registry_email_deliveries_total", "E-mail delivery attempts, by outcome (sent, retrying, failed).", ["outcome"]
)
ENDPOINTS_DISABLED = Counter(
    "registry_webhook_endpoints_disabled_total", "Webhook endpoints this worker disabled (410, or failing for 5 days)."
)

# Scheduler.
SWEEP_DURATION = Histogram(
    "registry_scheduler_sweep_duration_seconds",
    "How long each sweep took, by sweep.",
    ["sweep"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SWEEP_FAILURES = Counter("registry_scheduler_sweep_failures_total", "Sweeps that raised, by sweep.", ["sweep"])


class SweepClock(Collector):
    """``registry_scheduler_sweep_last_run_timestamp_seconds{sweep}``: when each sweep last
    ran (Unix time), kept in memory by the scheduler that ran it."""

    def __init__(self) -> None:
        self.last_run: dict[str, float] = {}

    def record(self, sweep: str, *, started: float, seconds: float, failed: bool) -> None:
        self.last_run[sweep] = started
        SWEEP_DURATION.labels(sweep).observe(seconds)
        if failed:
            SWEEP_FAILURES.labels(sweep).inc()

    def describe(self) -> Iterator[Metric]:
        # Nothing up front: registering must not collect (that would query the database from
        # the loop it waits on).
        return iter(())

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "registry_scheduler_sweep_last_run_timestamp_seconds",
            "When each sweep last ran (Unix time).",
            labels=["sweep"],
        )
        for sweep, started in sorted(self.last_run.items()):
            family.add_metric([sweep], started)
        yield family


sweep_clock = SweepClock()


class PoolCollector(Collector):
    """``registry_db_pool_*``: this process's connection pools (one per event loop) at scrape time."""

    def __init__(self, pools: Callable[[], Iterable[Any]]) -> None:
        self.pools = pools

    def describe(self) -> Iterator[Metric]:
        # Nothing up front: registering must not collect (that would query the database from
        # the loop it waits on).
        return iter(())

    def collect(self) -> Iterator[Metric]:
        in_use = GaugeMetricFamily("registry_db_pool_connections_in_use", "Pooled connections checked out now.")
        overflow = GaugeMetricFamily(
            "registry_db_pool_overflow", "Connections open beyond DATABASE_POOL_SIZE now (negative: room left)."
        )
        size = GaugeMetricFamily("registry_db_pool_size", "DATABASE_POOL_SIZE, summed over this process's pools.")
        totals = [0, 0, 0]
        for pool in self.pools():
            totals[0] += pool.checkedout()
            totals[1] += pool.overflow()
            totals[2] += pool.size()
        in_use.add_metric([], totals[0])
        overflow.add_metric([], totals[1])
        size.add_metric([], totals[2])
        yield from (in_use, overflow, size)


# One statement for every database gauge: each count uses a partial index or a small table.
DATABASE_GAUGES = text(
    """
    SELECT
      (SELECT count(*) FROM events WHERE published_at IS NULL) AS outbox_pending,
      (SELECT extract(epoch FROM now() - min(occurred_at)) FROM events WHERE published_at IS NULL) AS outbox_oldest,
      (SELECT extract(epoch FROM now() - min(next_attempt_at)) FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= now()) AS webhook_oldest,
      (SELECT extract(epoch FROM now() - min(next_attempt_at)) FROM email_deliveries
        WHERE status = 'pending' AND next_attempt_at <= now()) AS email_oldest,
      (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()) AS webhook_due,
      (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()
        AND (lease_until IS NULL OR lease_until < now())) AS webhook_pending,
      (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND lease_until >= now()) AS webhook_held,
      (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at > now() AND attempts > 0
        AND (lease_until IS NULL OR lease_until < now())) AS webhook_waiting_for_retry,
      (SELECT count(*) FROM webhook_deliveries WHERE status = 'failed') AS webhook_failed,
      (SELECT count(*) FROM email_deliveries WHERE status = 'pending' AND next_attempt_at <= now()) AS email_due,
      (SELECT count(*) FROM email_deliveries WHERE status = 'pending' AND next_attempt_at <= now()
        AND (lease_until IS NULL OR lease_until < now())) AS email_pending,
      (SELECT count(*) FROM email_deliveries WHERE status = 'pending' AND lease_until >= now()) AS email_held,
      (SELECT count(*) FROM email_deliveries WHERE status = 'pending' AND next_attempt_at > now() AND attempts > 0
        AND (lease_until IS NULL OR lease_until < now())) AS email_waiting_for_retry,
      (SELECT count(*) FROM email_deliveries WHERE status = 'failed') AS email_failed,
      (SELECT count(*) FROM webhook_endpoints WHERE NOT enabled) AS endpoints_disabled,
      (SELECT count(*) FROM webhook_endpoints WHERE enabled AND failing_since IS NOT NULL) AS endpoints_failing,
      (SELECT count(*) FROM reviews WHERE status <> 'completed' AND due_date < current_date) AS reviews_overdue,
      (SELECT count(*) FROM review_recommendations
        WHERE status IN ('open', 'in_progress') AND due_date < current_date) AS recommendations_overdue
    """
)

DELIVERY_STATES = ("pending", "held", "waiting_for_retry", "failed")

GAUGE_HELP = {
    "outbox_pending": ("registry_outbox_pending_events", "Events committed but not yet relayed to the broker."),
    "outbox_oldest": (
        "registry_outbox_oldest_pending_age_seconds",
        "Age of the oldest event not yet relayed (0: none).",
    ),
    "endpoints_disabled": ("registry_webhook_endpoints_disabled", "Webhook endpoints disabled now."),
    "endpoints_failing": (
        "registry_webhook_endpoints_failing",
        "Enabled webhook endpoints whose deliveries are failing.",
    ),
    "reviews_overdue": ("registry_review_cycles_overdue", "Review cycles past their due date and not completed."),
    "recommendations_overdue": ("registry_recommendations_overdue", "Open recommendations past their due date."),
}


class DatabaseCollector(Collector):
    """Gauges read from the database (one statement) and the broker when Prometheus scrapes.
    The query runs on ``loop`` (the process's own, where its pool lives), with a time limit;
    ``registry_metrics_database_up`` says whether it answered."""

    TIMEOUT_SECONDS = 5.0

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        read_gauges: Callable[[], Coroutine[Any, Any, dict[str, Any]]],
        queue_depths: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.loop = loop
        self.read_gauges = read_gauges
        self.queue_depths = queue_depths

    def describe(self) -> Iterator[Metric]:
        # Nothing up front: registering must not collect (that would query the database from
        # the loop it waits on).
        return iter(())

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("registry_metrics_database_up", "Whether the database answered this scrape.")
        try:
            row = asyncio.run_coroutine_threadsafe(self.read_gauges(), self.loop).result(self.TIMEOUT_SECONDS)
        except Exception as error:
            logger.warning("metrics: the database did not answer (%s)", type(error).__name__)
            row = None
        up.add_metric([], 1 if row is not None else 0)
        yield up
        if row is not None:
            for key, (name, documentation) in GAUGE_HELP.items():
                yield GaugeMetricFamily(name, documentation, value=float(row[key] or 0))
            due = GaugeMetricFamily(
                "registry_deliveries_due", "Deliveries due and not yet sent, by kind.", labels=["kind"]
            )
            oldest = GaugeMetricFamily(
                "registry_deliveries_oldest_due_age_seconds",
                "How long the oldest due delivery has waited, by kind.",
                labels=["kind"],
            )
            states = GaugeMetricFamily(
                "registry_deliveries_by_state",
                "Deliveries by transport and state: pending (due, waiting for a worker), held (leased"
                " by a worker), waiting_for_retry, failed.",
                labels=["transport", "state"],
            )
            for kind in ("webhook", "email"):
                due.add_metric([kind], float(row[f"{kind}_due"] or 0))
                oldest.add_metric([kind], float(row[f"{kind}_oldest"] or 0))
                for state in DELIVERY_STATES:
                    states.add_metric([kind, state], float(row[f"{kind}_{state}"] or 0))
            yield from (due, oldest, states)
        if self.queue_depths is not None:
            depth = GaugeMetricFamily(
                "registry_queue_messages",
                "Messages waiting in each broker queue (RabbitMQ, Redis or in-memory).",
                labels=["queue"],
            )
            try:
                for queue, count in sorted(self.queue_depths().items()):
                    depth.add_metric([queue], count)
            except Exception as error:
                logger.warning("metrics: the broker did not answer (%s)", type(error).__name__)
            yield depth


class MetricsServer:
    """A process's metrics endpoint (``/metrics`` on ``host:port``; prometheus_client's own
    threaded HTTP server, off the event loop). ``collectors`` are registered for its lifetime."""

    def __init__(
        self, *, host: str, port: int, collectors: Iterable[Collector] = (), registry: CollectorRegistry = REGISTRY
    ) -> None:
        self.host, self.port, self.registry = host, port, registry
        self.collectors = list(collectors)
        self._server: Any = None

    def start(self) -> None:
        for collector in self.collectors:
            self.registry.register(collector)
        self._server, _ = start_http_server(self.port, addr=self.host, registry=self.registry)
        self.port = self._server.server_port
        logger.info("metrics on http://%s:%d/metrics", self.host, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for collector in self.collectors:
            with contextlib.suppress(KeyError):
                self.registry.unregister(collector)


async def read_database_gauges() -> dict[str, Any]:
    """The database's gauges, in one statement on the running loop's pool."""
    async with get_database().read() as conn:
        return dict((await conn.execute(DATABASE_GAUGES)).mappings().one())


def pools() -> list[Any]:
    """This process's connection pools (one per event loop that used the database)."""
    return [database.engine.sync_engine.pool for database in open_databases()]
