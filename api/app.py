"""The application factory."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import dramatiq
from fastapi import FastAPI

from api import (
    api_keys,
    audit,
    calendars,
    coverage,
    entities,
    event_types,
    events,
    gcm,
    health,
    indicators,
    meetings,
    memberships,
    mous,
    networks,
    reports,
    reviews,
    webhooks,
    working_groups,
)
from api.access import AccessGate
from api.docs import install_docs
from api.errors import install_error_handlers
from api.limits import EdgeMiddleware, RateLimiter
from api.observability import Observability
from api.openapi import install_openapi
from api.planned import refuse_skipped_dependencies
from services.api_keys.authenticator import Authenticator
from services.database import dispose_database
from services.settings import get_settings
from worker.broker import boot_actors_here
from worker.events import settle_relay_nudges
from worker.main import start_broker
from worker.observability import serving_metrics
from worker.scheduler import run_scheduler

logger = logging.getLogger("api")

DESCRIPTION = """
The system of record for the United Nations Network on Migration: its members and their
tiers, working groups, memoranda of understanding, meetings and reviews.

Errors are RFC 9457 `application/problem+json`. Reads return an `ETag`; updates need
`If-Match`. Lists are cursor-paginated (`limit` ≤ 200, follow `Link: rel="next"`).
`POST` accepts `Idempotency-Key`.
"""


@asynccontextmanager
async def _in_process_worker(broker: dramatiq.Broker) -> AsyncIterator[None]:
    """Run Dramatiq workers on ``broker`` and the scheduler inside this process (``registry run``)."""
    boot_actors_here(broker)
    worker = dramatiq.Worker(broker, worker_threads=get_settings().worker_threads, worker_timeout=100)
    worker.start()
    stop = asyncio.Event()
    scheduler = asyncio.create_task(run_scheduler(stop), name="scheduler")
    logger.info("in-process worker and scheduler started")
    try:
        yield
    finally:
        stop.set()
        await scheduler
        await asyncio.to_thread(worker.stop)


def create_app(*, run_worker_in_process: bool = False, metrics_port: int = 0) -> FastAPI:
    """The API; with ``run_worker_in_process`` the worker and scheduler run inside it
    (``registry run``); ``metrics_port`` (0: none) serves its Prometheus metrics."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The API sends messages (the relay's nudges, after its units of work commit).
        broker = start_broker()
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(serving_metrics(metrics_port, everything=run_worker_in_process))
            if run_worker_in_process:
                await stack.enter_async_context(_in_process_worker(broker))
            # Everything built so far (routes, schemas, mappers: about 180,000 objects) lives
            # as long as the process: kept out of the collector's full passes. A full pass
            # over them took 200 ms on a busy 2-core machine, every request in flight stalled.
            gc.freeze()
            yield
        await settle_relay_nudges()  # the last writes' nudges, before the pool closes
        await dispose_database()

    app = FastAPI(
        title="Migration Network Registry",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served offline by api.docs
        redoc_url=None,
        # Operators get Prometheus metrics and JSON logs (api.observability); FastAPI's own
        # OpenTelemetry hooks would only cost each request a check that finds no provider.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    settings = get_settings()
    app.state.authenticator = Authenticator(settings)
    app.state.rate_limiter = RateLimiter(per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst)
    # The API contract (docs/API.md, "Order of checks"): the ordered first checks of every write, inside the edge.
    app.add_middleware(AccessGate)
    app.add_middleware(EdgeMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(Observability)  # outermost: counts and logs every answer, refusals included
    install_error_handlers(app)
    for module in (
        health,
        gcm,
        entities,
        networks,
        memberships,
        working_groups,
        mous,
        coverage,
        indicators,
        reports,
        reviews,
        meetings,
        events,
        event_types,
        webhooks,
        api_keys,
        audit,
        calendars,
    ):
        app.include_router(module.router)
    app.include_router(meetings.feeds)
    app.include_router(calendars.feeds)
    refuse_skipped_dependencies(app)
    install_openapi(app)
    install_docs(app)
    return app
