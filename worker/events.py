"""Actors for the event log. ``events.relay`` hands committed events on and marks them; the
after-commit hook (``nudge_after_commit``, which each process registers as it starts) asks
for a relay once a unit of work has recorded events."""

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable

from dramatiq.brokers.stub import StubBroker
from sqlalchemy.ext.asyncio import AsyncSession

from services import context
from services.database import is_outage
from services.delivery.relay import Published, claim_relay_message, publish_batch, release_relay_message
from services.events.service import PENDING_EVENTS_FLAG
from services.unit_of_work import after_commit, autocommit_write, unit_of_work
from worker.actors import actor
from worker.mail import send_mails
from worker.queueing import message_options
from worker.webhooks import send_new_deliveries

logger = logging.getLogger("worker.events")


async def _hand_on(published: Published) -> None:
    # The scheduler re-sends any lost between the relay's commit and the broker.
    await send_new_deliveries(published.webhook_deliveries)
    await send_mails(published.email_deliveries)


@actor(actor_name="events.relay", max_retries=3, min_backoff=1000)
async def relay_events() -> None:
    """Publish every pending event, in log order, batch by batch: fan each out to the webhook
    endpoints that want it and hand the deliveries to the workers. Safe to run concurrently
    (rows are claimed with SKIP LOCKED) and repeatedly (published rows are skipped).

    A database outage ends the message quietly (one warning, no broker retries, nothing
    dead-lettered): the scheduler's sweep relays what is pending once the database answers,
    so the dead-letter queue does not grow with every outage."""
    try:
        await _relay()
    except Exception as error:
        if not is_outage(error):
            raise
        logger.warning(
            "the relay met a database outage (%s); the scheduler relays once it answers", type(error).__name__
        )


async def _relay() -> None:
    async with autocommit_write() as conn:
        await release_relay_message(conn)  # from here on, events committed next need a new message
    total = 0
    while True:
        async with unit_of_work() as session:
            published = await publish_batch(session)
            after_commit(session, functools.partial(_hand_on, published))
        total += published.events
        if published.events == 0:
            break
    if total:
        logger.info("relayed %d events", total)


RELAY_HOLD_SECONDS = 30.0  # a relay message lost by the broker stops holding nudges back after this


async def nudge_relay() -> None:
    """Ask a worker to relay now, unless a relay message is queued already (it will relay
    these events too): while the workers are away or busy, writes add one message, not one
    each. Losing a nudge loses nothing: the scheduler's sweep finds pending events too. The
    in-memory broker (one process) needs no such mark."""
    try:
        options = message_options(context.request_id.get())
        if isinstance(relay_events.bound.broker, StubBroker):
            relay_events.send_with_options(**options)  # in memory: nothing to wait for
            return
        async with autocommit_write() as conn:
            if not await claim_relay_message(conn, hold_seconds=RELAY_HOLD_SECONDS):
                return
        await asyncio.to_thread(lambda: relay_events.send_with_options(**options))
    except Exception:  # the write has committed; a broker or database hiccup must not fail the request
        logger.warning("could not nudge the event relay; the scheduler will pick the events up", exc_info=True)
        with contextlib.suppress(Exception):
            async with autocommit_write() as conn:
                await release_relay_message(conn)


class _CoalescedNudges:
    """Nudges asked for by requests, made in the background, one at a time: a nudge asked for
    while one is under way is made once that one ends, together with every other asked for
    meanwhile. Each write's nudge still starts after its commit, which is what makes it
    reliable (a relay message held when the check runs was claimed after that commit, or the
    relay it stands for has yet to start); under load, many writes share one."""

    def __init__(self) -> None:
        self.wanted = False
        self.task: asyncio.Task[None] | None = None

    def ask(self) -> None:
        self.wanted = True
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self.wanted:
            self.wanted = False
            await nudge_relay()


_nudges: dict[asyncio.AbstractEventLoop, _CoalescedNudges] = {}


def nudge_relay_soon() -> None:
    """Nudge the relay in the background (see _CoalescedNudges); call after commit."""
    loop = asyncio.get_running_loop()
    nudges = _nudges.get(loop)
    if nudges is None:
        nudges = _nudges[loop] = _CoalescedNudges()
    nudges.ask()


async def settle_relay_nudges() -> None:
    """Wait for the running loop's background nudges to be made (before shutting down)."""
    nudges = _nudges.get(asyncio.get_running_loop())
    while nudges is not None and nudges.task is not None and not nudges.task.done():
        await asyncio.shield(nudges.task)


def nudge_after_commit(session: AsyncSession, *, background: bool) -> Awaitable[None] | None:
    """The after-commit hook (services.unit_of_work) of every process that writes: once a
    unit of work has recorded events, nudge the relay, so that an event an actor or the
    scheduler writes is relayed as promptly as one a request writes. A request's nudge
    (``background``) is not waited for: its response goes out at once, and concurrent
    requests share nudges."""
    if not session.info.get(PENDING_EVENTS_FLAG):
        return None
    if background:
        nudge_relay_soon()
        return None
    return nudge_relay()
