"""The application factory."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import (
    api_keys,
    audit,
    calendars,
    coverage,
    entities,
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
from api.openapi import install_openapi
from services.auth.authenticator import Authenticator
from services.database import dispose_database
from services.settings import get_settings

logger = logging.getLogger("api")

DESCRIPTION = """
The system of record for the United Nations Network on Migration: its members and their
tiers, working groups, memoranda of understanding, meetings and reviews.

Errors are RFC 9457 `application/problem+json`. Reads return an `ETag`; updates need
`If-Match`. Lists are cursor-paginated (`limit` ≤ 200, follow `Link: rel="next"`).
`POST` accepts `Idempotency-Key`.
"""


@asynccontextmanager
async def _in_process_worker(app: FastAPI) -> AsyncIterator[None]:
    """Run Dramatiq workers and the scheduler inside this process (``registry run``)."""
    import dramatiq

    from worker.main import broker
    from worker.scheduler import run_scheduler

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


def create_app(*, run_worker_in_process: bool = False) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if run_worker_in_process:
            async with _in_process_worker(app):
                yield
        else:
            yield
        await dispose_database()

    app = FastAPI(
        title="Migration Network Registry",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served offline by api.docs
        redoc_url=None,
    )
    settings = get_settings()
    app.state.authenticator = Authenticator(settings)
    app.state.rate_limiter = RateLimiter(per_minute=settings.rate_limit_per_minute, burst=settings.rate_limit_burst)
    # The API contract (issue 11): the ordered first checks of every write, inside the edge.
    app.add_middleware(AccessGate)
    app.add_middleware(EdgeMiddleware, max_body_bytes=settings.max_body_bytes)
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
        webhooks,
        api_keys,
        audit,
        calendars,
    ):
        app.include_router(module.router)
    app.include_router(meetings.feeds)
    app.include_router(calendars.feeds)
    install_openapi(app)
    install_docs(app)
    return app
