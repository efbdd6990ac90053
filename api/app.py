"""The application factory."""

import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from api import (
    api_keys,
    audit,
    calendars,
    commitments,
    coverage,
    entities,
    event_types,
    events,
    gcm,
    health,
    indicators,
    invitations,
    meetings,
    memberships,
    mous,
    networks,
    people,
    reference,
    reports,
    reviews,
    webhooks,
    working_groups,
    workplans,
)
from api.access import AccessGate
from api.docs import install_docs
from api.errors import install_error_handlers
from api.limit_store import limit_store
from api.limits import EdgeMiddleware, Limits
from api.observability import Observability
from api.openapi import install_openapi
from api.planned import refuse_skipped_dependencies
from services.api_keys.authenticator import Authenticator
from services.database import dispose_database
from services.settings import get_settings
from services.version import registry_version

logger = logging.getLogger("api")

# Whether create_app has checked its route table in this process (refuse_skipped_dependencies).
_route_table_checked = False

DESCRIPTION = """
The system of record for the United Nations Network on Migration: its members and their
tiers, working groups, memoranda of understanding, meetings and reviews.

Errors are RFC 9457 `application/problem+json`. Reads return an `ETag`; updates need
`If-Match`. Lists are cursor-paginated (`limit` ≤ 200, follow `Link: rel="next"`).
`POST` accepts `Idempotency-Key`.
"""


def install_state(app: FastAPI) -> None:
    """The app's state as create_app leaves it, from the settings in force: its authenticator
    (and its cache) and its limits. (The tests reuse one app, given fresh state for each test.)"""
    settings = get_settings()
    app.state.authenticator = Authenticator(settings)
    # Built here, connected on first use: creating the app opens nothing.
    app.state.limits = Limits(
        limit_store(settings.limits_url, timeout_seconds=settings.limits_timeout_seconds), settings
    )


def create_app(*, process_lifespan: Callable[[], AbstractAsyncContextManager[None]] | None = None) -> FastAPI:
    """The API, HTTP only. ``process_lifespan`` is what the process serving it runs around its
    life, composed by the command line (``api.cli.composition``: the broker and the relay
    nudge, the metrics server, ``registry run``'s worker and scheduler): entered as the app
    starts, exited after its last request and before the database pools close. Without it
    the app sends no message and serves no metrics (a test on the ASGI app, an OpenAPI dump)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if process_lifespan is not None:
                await stack.enter_async_context(process_lifespan())
            # Everything built so far (routes, schemas, mappers: about 180,000 objects) lives
            # as long as the process: kept out of the collector's full passes. A full pass
            # over them took 200 ms on a busy 2-core machine, every request in flight stalled.
            gc.freeze()
            logger.info("%s", app.state.limits.store.description)
            yield
        await app.state.limits.close()
        await dispose_database()

    app = FastAPI(
        title="Migration Network Registry",
        version=registry_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served offline by api.docs
        redoc_url=None,
        # Operators get Prometheus metrics and JSON logs (api.observability); FastAPI's own
        # OpenTelemetry hooks would only cost each request a check that finds no provider.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    settings = get_settings()
    install_state(app)
    # The API contract (docs/API.md, "Order of checks"): the ordered first checks of every write, inside the edge.
    app.add_middleware(AccessGate)
    app.add_middleware(EdgeMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(Observability)  # outermost: counts and logs every answer, refusals included
    install_error_handlers(app)
    for module in (
        health,
        gcm,
        reference,
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
        workplans,
        commitments,
        people,
    ):
        app.include_router(module.router)
    app.include_router(meetings.feeds)
    app.include_router(calendars.feeds)
    app.include_router(invitations.replies)
    app.include_router(invitations.pages)
    # Every app this factory builds has the same route table (the same module routers, included
    # the same way, nothing here depends on an argument): checked on the first app a process
    # builds. The check solves every route's dependencies (0.3-1.7 s of CPU on a busy 2-core
    # machine), and a test process builds an app for each test.
    global _route_table_checked
    if not _route_table_checked:
        refuse_skipped_dependencies(app)
        _route_table_checked = True
    install_openapi(app)
    install_docs(app)
    return app
