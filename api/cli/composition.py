"""The API's process as the command line composes it: ``api.app.create_app`` is HTTP only, and
is given here what the process runs around it on the worker side — its broker and the relay
nudge after commits, the metrics server, and for ``registry run`` the Dramatiq worker and the
scheduler in the same process — and the relay nudges settled as it shuts down."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import dramatiq
from fastapi import FastAPI

from api.app import create_app
from services.settings import get_settings
from worker.broker import boot_actors_here
from worker.events import settle_relay_nudges
from worker.main import start_broker
from worker.observability import serving_metrics
from worker.scheduler import run_scheduler

logger = logging.getLogger("api")


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


def compose_api(*, metrics_port: int, in_process_worker: bool = False) -> FastAPI:
    """The API as ``registry serve`` runs it, or with ``in_process_worker`` as ``registry run``
    does (the worker and the scheduler inside it). ``metrics_port`` (0: none) serves the
    process's Prometheus metrics: with ``in_process_worker`` the worker's and scheduler's too."""

    @asynccontextmanager
    async def worker_side() -> AsyncIterator[None]:
        # The API sends messages (the relay's nudges, after its units of work commit).
        broker = start_broker()
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(serving_metrics(metrics_port, everything=in_process_worker))
            if in_process_worker:
                await stack.enter_async_context(_in_process_worker(broker))
            yield
        await settle_relay_nudges()  # the last writes' nudges, before the app closes the pools

    return create_app(process_lifespan=worker_side)
