"""Run what is queued on the in-memory broker in a real Dramatiq worker, in the test's process."""

import asyncio
from collections.abc import Callable

import dramatiq

from worker.actors import bound_broker
from worker.broker import boot_actors_here

broker = bound_broker()  # the test process's, started by the tests' conftest


async def drain(*, threads: int = 1, then: Callable[[], object] | None = None) -> None:
    """Start a worker, call ``then`` (e.g. to send messages while it runs), wait until the
    default queue is empty (failing on an actor's error), and stop the worker."""
    boot_actors_here(broker)
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=50)
    worker.start()
    try:
        if then is not None:
            then()
        await asyncio.to_thread(broker.join, "default", fail_fast=True)
    finally:
        await asyncio.to_thread(worker.stop)
