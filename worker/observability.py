"""The worker's metrics and log context: a Dramatiq middleware that counts every actor
message and times it, and puts the request id the message carries (an option set by
whoever sent it) into the context, so the actor's log lines and the events it records carry
it. Under ``registry worker`` every worker process writes its metrics to
``PROMETHEUS_MULTIPROC_DIR`` and one forked process serves them all on
``WORKER_METRICS_PORT``."""

import asyncio
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from contextvars import Token
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker
from prometheus_client.registry import Collector

from services import context
from services.observability.logs import reformat_handlers
from services.observability.metrics import (
    WORKER_DURATION,
    WORKER_MESSAGES,
    DatabaseCollector,
    MetricsServer,
    PoolCollector,
    pools,
    read_database_gauges,
    sweep_clock,
)
from services.settings import get_settings
from worker.actors import bound_broker

logger = logging.getLogger("worker.observability")


class Observability(dramatiq.Middleware):
    """Per message: the request id into the context, and ``registry_worker_messages_total``
    / ``registry_worker_message_duration_seconds`` out. Cheap: two dictionary look-ups and
    two metric updates per message."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def forks(self) -> list[Any]:
        settings = get_settings()
        if settings.prometheus_multiproc_dir is not None and settings.worker_metrics_port:
            return [serve_worker_metrics]
        return []

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        # A dramatiq worker process: no chattier than LOG_LEVEL (dramatiq's command sets INFO,
        # DEBUG with -v, and used to win: LOG_LEVEL=WARNING still wrote a line per delivery;
        # a process that set its own level, the API or the tests, keeps it), and its log
        # lines in LOG_FORMAT (JSON unless told otherwise; registry run keeps the format its
        # command chose).
        from worker.broker import booted_in_process

        settings = get_settings()
        root = logging.getLogger()
        wanted = logging.getLevelName(settings.log_level.upper())
        if isinstance(wanted, int) and root.level < wanted:
            root.setLevel(wanted)
        if not booted_in_process(broker):
            reformat_handlers(settings.log_format or "json")
        if settings.prometheus_multiproc_dir is not None and settings.worker_metrics_port:
            threading.Thread(target=sample_pools, name="pool-metrics", daemon=True).start()

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        token = context.request_id.set(message.options.get("request_id"))
        self._local.started = (time.perf_counter(), token)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        started: tuple[float, Token[str | None]] | None = getattr(self._local, "started", None)
        if started is None:
            return
        self._local.started = None
        WORKER_DURATION.labels(message.actor_name).observe(time.perf_counter() - started[0])
        WORKER_MESSAGES.labels(message.actor_name, "error" if exception is not None else "ok").inc()
        try:
            context.request_id.reset(started[1])
        except ValueError:  # set in another context (never expected); clear it instead
            context.request_id.set(None)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self.after_process_message(broker, message)


POOL_SAMPLE_SECONDS = 1.0


def sample_pools() -> None:
    """A worker process under ``registry worker``: its connection pools, every second, into
    gauges that the metrics process sums over the live worker processes. (The API and the
    scheduler read theirs at scrape time; a worker's pools live in other processes than the
    one that serves the metrics.)"""
    from prometheus_client import Gauge

    from services.observability.metrics import pools

    in_use = Gauge(
        "registry_db_pool_connections_in_use", "Pooled connections checked out now.", multiprocess_mode="livesum"
    )
    overflow = Gauge(
        "registry_db_pool_overflow",
        "Connections open beyond DATABASE_POOL_SIZE now (negative: room left).",
        multiprocess_mode="livesum",
    )
    while True:
        current = pools()
        in_use.set(sum(pool.checkedout() for pool in current))
        overflow.set(sum(pool.overflow() for pool in current))
        time.sleep(POOL_SAMPLE_SECONDS)


def serve_worker_metrics() -> None:
    """A forked process of ``registry worker``: serve the metrics every worker process writes
    to PROMETHEUS_MULTIPROC_DIR, on WORKER_METRICS_PORT, until stopped."""
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    settings = get_settings()
    reformat_handlers(settings.log_format or "json")
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(settings.prometheus_multiproc_dir))  # type: ignore[no-untyped-call]
    try:
        _server, thread = start_http_server(settings.worker_metrics_port, addr=settings.metrics_host, registry=registry)
    except OSError as error:  # the workers work all the same; the operator reads why metrics do not
        logger.error(
            "metrics: cannot listen on %s:%d (%s)", settings.metrics_host, settings.worker_metrics_port, error.strerror
        )
        return
    logger.info("worker metrics on http://%s:%d/metrics", settings.metrics_host, settings.worker_metrics_port)
    thread.join()


# The broker's client connections are per thread: one thread asks, so one connection serves.
_broker_questions = ThreadPoolExecutor(max_workers=1, thread_name_prefix="queue-depth")


def queue_depths(
    broker: dramatiq.Broker, *, queues: Iterable[str] | None = None, timeout: float = 5.0
) -> dict[str, int]:
    """Messages waiting in each of ``queues`` (default: every queue the broker knows) —
    RabbitMQ and Redis: ready and delayed; in-memory: queued —, asked on one dedicated thread."""

    def ask() -> dict[str, int]:
        depths: dict[str, int] = {}
        for queue in sorted(broker.get_declared_queues() if queues is None else queues):
            if queue.endswith((".DQ", ".XQ")):
                continue
            if isinstance(broker, RabbitmqBroker):
                ready, delayed, _dead = broker.get_queue_message_counts(queue)
                depths[queue] = ready + delayed
            elif (redis := sys.modules.get("dramatiq.brokers.redis")) and isinstance(broker, redis.RedisBroker):
                # A RedisBroker exists only once its module is imported (worker.broker, lazily).
                depths[queue] = int(broker.do_qsize(queue))
            elif isinstance(broker, StubBroker):
                depths[queue] = broker.queues[queue].qsize()
        return depths

    return _broker_questions.submit(ask).result(timeout)


@asynccontextmanager
async def serving_metrics(port: int, *, everything: bool) -> AsyncIterator[None]:
    """Serve this process's metrics on ``port`` while the block runs (0: none): its pool's
    (and, through the app, its requests'); with ``everything`` also the scheduler's sweeps and
    the database's and the broker's gauges, read at scrape time (the scheduler, and
    ``registry run``: one of them runs, where API replicas are many)."""
    if not port:
        yield
        return
    collectors: list[Collector] = [PoolCollector(pools)]
    if everything:
        broker = bound_broker()  # the process has started its broker (worker.main.start_broker)
        loop = asyncio.get_running_loop()
        collectors += [DatabaseCollector(loop, read_database_gauges, lambda: queue_depths(broker)), sweep_clock]
    server = MetricsServer(host=get_settings().metrics_host, port=port, collectors=collectors)
    try:
        server.start()
    except OSError as error:  # the process serves all the same; the operator reads why metrics do not
        logger.error("metrics: cannot listen on %s:%d (%s)", server.host, port, error.strerror)
    try:
        yield
    finally:
        server.stop()
