"""Every actor issues a number of SQL statements that does not grow with the batch it works
on (no N+1), as every GET route does (tests/test_statement_counts.py), counted the same way.

Each actor runs on a batch of SMALL due items and, from a clean database, on one of LARGE,
and the statements it issues (on the write and the read engine, BEGIN and COMMIT aside) give
its line in BUDGET: statements per run, and per item. An actor that needs one more statement
changes its line here, on purpose; one more per item shows as a line that grows. A webhook
or e-mail delivery is one HTTP or SMTP call by nature; its line counts SQL statements only.
An actor added to worker/ fails the first test until it has a line (and a world) here.
"""

import importlib
import pkgutil
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.models import AuditEntry
from services.clock import clock
from services.commitments.schemas import PledgeCreate
from services.commitments.service import create_pledge
from services.database import get_database
from services.delivery.relay import publish_batch
from services.events.models import Event
from services.mail.models import EmailDelivery
from services.meetings.compliance import alert_overdue_networks
from services.meetings.models import MeetingKind
from services.meetings.schemas import InviteeIn, MeetingCreate
from services.meetings.service import create_meeting, send_due_reminders
from services.mous.service import remind_due_reviews
from services.networks.models import Network, NetworkScope
from services.principals import SYSTEM
from services.reviews.schemas import ReviewPolicyIn
from services.reviews.service import open_due_cycles, put_policy, remind_and_mark_overdue
from services.webhooks.models import WebhookDelivery
from services.webhooks.schemas import EndpointCreate
from services.webhooks.service import create_endpoint
from services.workplans.schemas import ActivityCreate, WorkplanCreate
from services.workplans.service import add_activity, create_workplan
from tests.factories import make_entity, make_membership, make_network
from tests.mou_helpers import make_mou
from tests.sql_statements import statements_issued
from tests.webhook_receiver import Receiver
from worker import actors as worker_actors

# Statements each actor issues: (per run, per item). Reads are per run: a batch's records are
# read in one statement. The ORM's UPDATE of a versioned record is one statement per record
# (each checks its own version), so an actor that changes n records writes n; an actor whose
# message carries one id (the scheduler sends one message per due item) runs once per item.
BUDGET: dict[str, tuple[int, int]] = {
    # Claim the due reminders, read their meetings, mark them sent (one statement for all)
    # and append their events with their audit entries (one statement), then one claim that
    # finds none.
    "meetings.send_due_reminders": (5, 0),
    # Judge every network, insert the lapses not alerted before, their events with their
    # audit entries (one statement: events are always appended with their audit entries).
    "meetings.check_annual_rule": (3, 0),
    # One MoU per message: lock it, write it, read it back, its event with its audit entry.
    "mous.apply_due_transition": (0, 4),
    # Lock the due MoUs, read them back, events and audit entries; each MoU's own UPDATE.
    "mous.remind_due_reviews": (3, 1),
    # Lock the due policies, read the networks' last cycles, insert the cycles, read them
    # back, events and audit entries; each policy's own UPDATE (its next due date).
    "reviews.open_due_cycles": (5, 1),
    # Cycles, then recommendations: due reminders, claimed, locked and read back; lapsed ones
    # locked and read back; events and audit entries. Each lapsed record's own UPDATE (two
    # cycles overdue per network here).
    "reviews.follow_up": (10, 2),
    # The delivery engine, for either transport: lease the batch (with what composing needs:
    # endpoints and events, or events), record the outcomes (attempts, deliveries, leases
    # released): one statement each.
    "webhooks.deliver": (2, 0),
    # The same, and for meeting e-mails (reminders here) what they name, read for the batch:
    # the networks' secretariats, and the networks' and working groups' names (the invited
    # entities, a third read, are none here: the invitees are external).
    "mail.send": (4, 0),
    # Release the relay mark, claim the events, the endpoints that want them, the addresses
    # they go to (invitees, MoU parties, coordinators, entities: one read each), insert the
    # webhook and e-mail deliveries, mark the events published and the e-mails queued; once
    # the broker has their messages, hold both tables' marks (services/delivery/leases.py);
    # then one claim that finds none. (A private event's owner, a key's or an endpoint's,
    # costs one more read for its endpoints.)
    "events.relay": (14, 0),
    # Lock the overdue activities, read them back, events and audit entries; each one's UPDATE.
    "workplans.report_overdue": (3, 1),
    # Lock the open pledges due soon or past due, read them back, events and audit entries;
    # each one's UPDATE.
    "commitments.follow_up_pledges": (3, 1),
}
SMALL, LARGE = 2, 6


def declared_actors() -> set[str]:
    """The name of every actor declared in worker/: each of its modules imported (as the
    workers import them through ``worker.main``), the actors ``worker.actors`` then knows."""
    import worker

    for module in pkgutil.iter_modules(worker.__path__):
        importlib.import_module(f"worker.{module.name}")
    return {declared.actor_name for declared in worker_actors.declared_actors()}


def _function(actor_name: str) -> Any:
    """The coroutine function an actor runs."""
    (declared,) = (each for each in worker_actors.declared_actors() if each.actor_name == actor_name)
    return declared.fn


def run_actor(name: str, *args: Any) -> Awaitable[None]:
    """Run actor ``name`` in the test's event loop, as a worker would (without the broker)."""
    return _function(name)(*args)


async def _forget_everything() -> None:
    """Back to an empty registry (reference data aside): each batch starts clean."""
    async with get_database().session() as session:
        await session.execute(
            text(
                "TRUNCATE memberships, networks, entity_identifiers, api_keys, entities, events, "
                "webhook_endpoints, webhook_deliveries, webhook_attempts, email_deliveries, meetings, "
                "review_reminders, relay_queue CASCADE"
            )
        )


# --- the worlds: n due items for each actor --------------------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _reminders_due(n: int, receiver: Receiver) -> None:
    """n scheduled meetings, each with an external invitee and one reminder due now; a
    webhook endpoint that wants every event. Earlier events are relayed already."""
    clock.freeze(NOW)
    async with get_database().session() as session:
        (network,) = await _networks(session, 1)
        await create_endpoint(session, data=EndpointCreate(url=receiver.url, event_types=["*"]), actor=SYSTEM)
        for i in range(n):
            starts = NOW + timedelta(hours=30)
            await create_meeting(
                session,
                data=MeetingCreate(
                    network_id=network["id"],
                    kind=MeetingKind.EXTENDED_MEMBERSHIP,
                    title=f"Meeting {i}",
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=3),
                    time_zone="Europe/Zurich",
                    location="Geneva",
                    invitees=[InviteeIn(name=f"Guest {i}", email=f"guest{i}@example.org")],
                    reminder_minutes=[24 * 60],
                ),
                actor=SYSTEM,
            )
    await _relay_all()
    clock.freeze(NOW + timedelta(hours=7))


async def _relay_all() -> None:
    """Publish every pending event (the relay's database half, without sending on)."""
    while True:
        async with get_database().session() as session:
            published = await publish_batch(session)
        if published.events == 0:
            return


async def _reminder_events(n: int, receiver: Receiver) -> None:
    """n ``meeting.reminder_due`` events waiting for the relay."""
    await _reminders_due(n, receiver)
    async with get_database().session() as session:
        assert await send_due_reminders(session, now=clock.now()) == n


async def _published_reminders(n: int, receiver: Receiver) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """n reminder events relayed: their webhook deliveries and their e-mails, due."""
    await _reminder_events(n, receiver)
    await _relay_all()
    clock.freeze(None)  # deliveries fall due on the database's clock
    async with get_database().read() as conn:
        reminders = select(Event.id).where(Event.type == "meeting.reminder_due")
        webhooks = list(await conn.scalars(select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(reminders))))
        emails = list(await conn.scalars(select(EmailDelivery.id).where(EmailDelivery.event_id.in_(reminders))))
    assert len(webhooks) == len(emails) == n
    return webhooks, emails


COUNTRIES = ("FR", "DE", "IT", "ES", "PT", "NL", "BE", "AT", "CH", "SE")


async def _networks(session: AsyncSession, n: int) -> list[dict[str, Any]]:
    """n networks established in 2018: the global one, and country networks under it."""
    global_id = await session.scalar(select(Network.id).where(Network.scope == NetworkScope.GLOBAL))
    networks = [{"id": global_id} if global_id else await make_network(session, established_on=date(2018, 12, 9))]
    for country in COUNTRIES[: n - 1]:
        networks.append(
            await make_network(
                session,
                scope=NetworkScope.COUNTRY,
                country_code=country,
                parent_network_id=networks[0]["id"],
                name=f"Network in {country}",
                established_on=date(2018, 12, 9),
            )
        )
    return networks


async def _overdue_networks(n: int) -> None:
    """n networks whose extended membership has never met, established long ago."""
    clock.freeze(NOW)
    async with get_database().session() as session:
        await _networks(session, n)


async def _mous(n: int, *, effective_date: date) -> list[uuid.UUID]:
    """n signed MoUs taking effect on ``effective_date``, in one network."""
    async with get_database().session() as session:
        (network,) = await _networks(session, 1)
        parties = [(await make_entity(session))["id"] for _ in range(2)]
        for party in parties:
            await make_membership(session, network_id=network["id"], entity_id=party)
        return [
            (
                await make_mou(
                    session, network_id=network["id"], parties=parties, state="signed", effective_date=effective_date
                )
            )["id"]
            for _ in range(n)
        ]


async def _review_policies(n: int, *, open_cycles: bool) -> None:
    """n networks whose review policy fell due 2027-03-01, yearly, unattended until
    2029-02-01: three cycles each to open (two of them, once open, overdue, the third due
    within its 30-day reminder)."""
    clock.freeze(datetime(2026, 1, 1, tzinfo=UTC))
    async with get_database().session() as session:
        for network in await _networks(session, n):
            lead = await make_entity(session)
            await make_membership(session, network_id=network["id"], entity_id=lead["id"])
            await put_policy(
                session,
                network_id=network["id"],
                data=ReviewPolicyIn(lead_entity_id=lead["id"], first_due_date=date(2027, 3, 1)),
                actor=SYSTEM,
                expected_version=None,
            )
    clock.freeze(datetime(2029, 2, 1, 12, tzinfo=UTC))
    if open_cycles:
        async with get_database().session() as session:
            assert await open_due_cycles(session, today=clock.today()) == 3 * n


World = Callable[[int, Receiver], Awaitable[Callable[[], Awaitable[None]]]]


async def _send_reminders(n: int, receiver: Receiver) -> Callable[[], Awaitable[None]]:
    await _reminders_due(n, receiver)
    return lambda: run_actor("meetings.send_due_reminders")


async def _check_annual_rule(n: int, receiver: Receiver) -> Callable[[], Awaitable[None]]:
    await _overdue_networks(n)
    return lambda: run_actor("meetings.check_annual_rule")


async def _apply_transitions(n: int, receiver: Receiver) -> Callable[[], Awaitable[None]]:
    clock.freeze(datetime(2025, 12, 1, tzinfo=UTC))
    mou_ids = await _mous(n, effective_date=date(2026, 1, 1))
    clock.freeze(datetime(2026, 1, 10, tzinfo=UTC))  # their effective date has come

    async def run() -> None:
        for mou_id in mou_ids:
            await run_actor("mous.apply_due_transition", str(mou_id))

    return run


async def _remind_mou_reviews(n: int, receiver: Receiver) -> Callable[[], Awaitable[None]]:
    clock.freeze(datetime(2022, 11, 15, tzinfo=UTC))
    await _mous(n, effective_date=date(2020, 1, 1))  # reviews due 2023-01-01
    return lambda: run_actor("mous.remind_due_reviews")


async def _open_review_cycles(n: int, receiver: Receiver) -> Callable[[], Awaitable[None]]:
    await _review_policies(n, open_cycles=False)
    return lambda: run_actor("reviews.open_due_cycles")


async def _follow_up_reviews(n: int, receiver: Receiver) -> Callable[[], Awaitable[None]]:
    await _review_policies(n, open_cycles=True)
    return lambda: run_actor("reviews.follow_up")


async def _deliver_webhooks(n: int, receiver: Receiver) -> Callable[[], Awaitable[None]]:
    webhooks, _ = await _published_reminders(n, receiver)
    return lambda: run_actor("webhooks.deliver", [str(i) for i in webhooks])


async def _send_mails(n: int, receiver: Receiver) -> Callable[[], Awaitable[None]]:
    _, emails = await _published_reminders(n, receiver)
    return lambda: run_actor("mail.send", [str(i) for i in emails])


async def _relay(n: int, receiver: Receiver) -> Callable[[], Awaitable[None]]:
    """n events of each kind that sends e-mail to a different kind of addressee, waiting
    for the relay (with the events of the records they are about): meeting reminders, MoU
    review reminders, review cycles opened, reminded and overdue, annual-rule alerts."""
    await _reminder_events(n, receiver)
    clock.freeze(datetime(2022, 11, 15, tzinfo=UTC))
    await _mous(n, effective_date=date(2020, 1, 1))
    async with get_database().session() as session:
        assert await remind_due_reviews(session, today=clock.today()) == n
    await _review_policies(n, open_cycles=True)
    async with get_database().session() as session:
        assert await remind_and_mark_overdue(session, today=clock.today()) == {"reminded": n, "overdue": 2 * n}
        assert await alert_overdue_networks(session, today=clock.today()) == n
    return lambda: run_actor("events.relay")


async def _overdue_activities(n: int, receiver: Receiver) -> Callable[[], Awaitable[None]]:
    """n activities of one workplan whose end date passed unfinished."""
    clock.freeze(datetime(2024, 6, 1, tzinfo=UTC))
    async with get_database().session() as session:
        (network,) = await _networks(session, 1)
        lead = await make_entity(session)
        workplan = await create_workplan(
            session,
            data=WorkplanCreate(
                network_id=network["id"], title="Workplan", start_date=date(2022, 1, 1), end_date=date(2024, 12, 31)
            ),
            actor=SYSTEM,
        )
        for i in range(n):
            data = ActivityCreate(
                title=f"Activity {i}",
                lead_entity_ids=[lead["id"]],
                start_date=date(2022, 2, 1),
                end_date=date(2024, 3, 31),
            )
            await add_activity(session, workplan_id=workplan["id"], data=data, actor=SYSTEM)
    return lambda: run_actor("workplans.report_overdue")


async def _pledges(n: int, receiver: Receiver) -> Callable[[], Awaitable[None]]:
    """n open pledges in one network: half falling due within a reminder offset, half past due."""
    clock.freeze(datetime(2024, 6, 1, tzinfo=UTC))
    async with get_database().session() as session:
        (network,) = await _networks(session, 1)
        for i in range(n):
            due = date(2024, 6, 10) if i % 2 else date(2024, 5, 1)
            data = PledgeCreate(network_id=network["id"], pledger_country_code="KE", title=f"Pledge {i}", due_date=due)
            await create_pledge(session, data=data, actor=SYSTEM)
    return lambda: run_actor("commitments.follow_up_pledges")


WORLDS: dict[str, World] = {
    "meetings.send_due_reminders": _send_reminders,
    "meetings.check_annual_rule": _check_annual_rule,
    "mous.apply_due_transition": _apply_transitions,
    "mous.remind_due_reviews": _remind_mou_reviews,
    "reviews.open_due_cycles": _open_review_cycles,
    "reviews.follow_up": _follow_up_reviews,
    "webhooks.deliver": _deliver_webhooks,
    "mail.send": _send_mails,
    "events.relay": _relay,
    "workplans.report_overdue": _overdue_activities,
    "commitments.follow_up_pledges": _pledges,
}


def test_every_actor_has_a_statement_budget() -> None:
    """An actor added to worker/ needs its line in BUDGET (and a world in WORLDS) first."""
    assert sorted(declared_actors()) == sorted(BUDGET), "an actor without a statement budget (or a budget for one gone)"
    assert sorted(WORLDS) == sorted(BUDGET)


@pytest.fixture
async def committed_without_audit(committed: Any) -> AsyncIterator[None]:
    """Real commits, as ``committed``, and none of their audit entries left behind: the
    log is append-only (its triggers refuse DELETE), so ``committed`` keeps them, and the
    hundreds these tests write would crowd the log's first page that other tests read.
    Removed with the triggers off (a replica's session role) for that one transaction."""
    async with get_database().read() as conn:
        last_before = await conn.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    yield
    async with get_database().session() as session:
        await session.execute(text("SET LOCAL session_replication_role = replica"))
        written = delete(AuditEntry)
        if last_before is not None:
            written = written.where(AuditEntry.id > last_before)
        await session.execute(written)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.mark.parametrize("actor_name", sorted(BUDGET))
async def test_an_actor_issues_a_fixed_number_of_statements_whatever_its_batch(
    actor_name: str, committed_without_audit: None, receiver: Receiver
) -> None:
    from tests.stub_worker import broker

    counts = {}
    for n in (SMALL, LARGE):
        await _forget_everything()
        run = await WORLDS[actor_name](n, receiver)
        broker.flush_all()
        with statements_issued() as statements:
            await run()
        broker.flush_all()  # what the actor sent on: not run here
        counts[n] = len(statements)
    each, rest = divmod(counts[LARGE] - counts[SMALL], LARGE - SMALL)
    assert rest == 0, (actor_name, counts)
    measured = (counts[SMALL] - each * SMALL, each)
    issued = Counter(" ".join(statement.split())[:100] for statement in statements)
    assert measured == BUDGET[actor_name], f"{counts} statements at {LARGE} items: {issued.most_common()}"


# The scheduler's sweeps, one interval's worth (every sweep due): each finds its due work in
# one statement and hands it on (messages, not reads, per item). The pending events, the due
# MoUs, the webhook and e-mail deliveries to queue, the due reminders, the idempotency keys
# to forget, and the record of the sweeps' runs; the hourly sweeps only send a message.
SWEEP_BUDGET = (7, 0)


async def test_a_scheduler_sweep_issues_a_fixed_number_of_statements_whatever_is_due(
    committed_without_audit: None, receiver: Receiver, monkeypatch: Any
) -> None:
    from tests.stub_worker import broker
    from worker import scheduler

    counts = {}
    for n in (SMALL, LARGE):
        await _forget_everything()
        clock.freeze(datetime(2025, 12, 1, tzinfo=UTC))
        await _mous(n, effective_date=date(2026, 1, 1))  # due to take effect by the sweep's day
        await _reminder_events(n, receiver)  # and n more reminders due, on n more meetings
        await _reminders_due(n, receiver)
        monkeypatch.setattr(scheduler, "_relay_sent_at", float("-inf"))  # no relay message sent just now
        broker.flush_all()
        with statements_issued() as statements:
            await scheduler.run_sweeps({})
        broker.flush_all()
        counts[n] = len(statements)
    each, rest = divmod(counts[LARGE] - counts[SMALL], LARGE - SMALL)
    assert rest == 0, counts
    issued = Counter(" ".join(statement.split())[:100] for statement in statements)
    assert (counts[SMALL] - each * SMALL, each) == SWEEP_BUDGET, f"{counts}: {issued.most_common()}"
