"""The unit of work: it commits once, then runs the actions deferred to after its commit and
the hooks the process registered; nothing of that runs when it rolls back."""

import dramatiq
import pytest
from sqlalchemy import func, select

from services.database import get_database
from services.entities.models import Entity
from services.unit_of_work import after_commit, register_after_commit, unit_of_work, unregister_after_commit
from tests.factories import make_entity
from tests.stub_worker import broker
from worker.events import settle_relay_nudges


@pytest.fixture
def hook_calls():
    """A hook registered for the test: each call's background flag and whether the row it
    wrote was committed (seen from another connection) by then."""
    calls: list[tuple[bool, bool]] = []

    async def committed_then() -> bool:
        async with get_database().read() as other:
            return bool(await other.scalar(select(func.count()).select_from(Entity).where(Entity.acronym == "UOW")))

    def hook(session, *, background):
        async def record() -> None:
            calls.append((background, await committed_then()))

        return record()

    register_after_commit(hook)
    register_after_commit(hook)  # once, however often registered
    yield calls
    unregister_after_commit(hook)


async def test_hooks_and_deferred_actions_run_after_the_commit(committed, hook_calls):
    order: list[str] = []

    async def deferred() -> None:
        order.append(f"deferred, hooks so far: {len(hook_calls)}")

    async with unit_of_work() as session:
        await make_entity(session, acronym="UOW")
        after_commit(session, deferred)
        assert hook_calls == [] and order == []
    assert order == ["deferred, hooks so far: 0"]
    assert hook_calls == [(False, True)]  # an actor's: awaited, once the row was committed


async def test_two_deferred_actions_run_in_order_and_two_hooks_each_once(committed, hook_calls):
    order: list[str] = []
    second_hook_calls: list[bool] = []

    def second_hook(session, *, background):
        second_hook_calls.append(background)  # nothing to await: returns None

    async def first() -> None:
        order.append("first")

    async def second() -> None:
        order.append("second")

    register_after_commit(second_hook)
    try:
        async with unit_of_work() as session:
            await make_entity(session, acronym="UOW")
            after_commit(session, first)
            after_commit(session, second)
        async with unit_of_work() as session:  # a second unit: its own actions (none), the hooks again
            pass
    finally:
        unregister_after_commit(second_hook)
    assert order == ["first", "second"]
    assert hook_calls == [(False, True), (False, True)] and second_hook_calls == [False, False]


async def test_nothing_runs_after_a_rollback(committed, hook_calls):
    ran: list[str] = []

    async def deferred() -> None:
        ran.append("deferred")

    async def refused_write() -> None:
        async with unit_of_work() as session:
            await make_entity(session, acronym="UOW")
            after_commit(session, deferred)
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        await refused_write()
    assert ran == [] and hook_calls == []


async def test_a_requests_hooks_are_told_to_leave_their_work_to_the_background(committed, hook_calls):
    async with unit_of_work(background=True) as session:
        await make_entity(session, acronym="UOW")
    await settle_relay_nudges()  # the relay's nudge, made in the background too
    assert hook_calls == [(True, True)]


def _queued_relays() -> int:
    if "default" not in broker.queues:
        return 0
    messages = [dramatiq.Message.decode(raw) for raw in list(broker.queues["default"].queue)]
    return sum(1 for m in messages if m.actor_name == "events.relay")


async def test_an_actors_unit_of_work_that_records_an_event_nudges_the_relay(committed):
    """The hook the test process registered as it started (as every process does)."""
    broker.flush_all()
    async with unit_of_work() as session:
        await make_entity(session, acronym="NUDGED")
    assert _queued_relays() == 1  # awaited: queued by the time the block ends
    async with unit_of_work() as session:
        await session.scalar(select(func.count()).select_from(Entity))
    assert _queued_relays() == 1  # no event recorded, no nudge
