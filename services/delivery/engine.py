"""The delivery engine: one way to send a batch of deliveries, whatever the transport.

A batch (the ids one broker message carries) is leased and loaded in one statement, each
delivery composed and sent outside any transaction (``Transport.at_once`` in flight), and
every outcome recorded in one unit of work with the lease's release: the attempt, and the
delivery succeeded, due again on the schedule (``services/delivery/schedule.py``) or failed.
Nothing a transport raises escapes: a message that cannot be composed fails for good at once
(it never could be), any other failure is judged by the transport (retry or permanent); both
are kept in ``last_error`` and the attempt log. A worker killed mid-batch lets the lease
lapse, and the scheduler hands the same deliveries out again."""

import asyncio
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    SmallInteger,
    String,
    Uuid,
    bindparam,
    cast,
    column,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from services import context
from services.clock import clock
from services.database import Database
from services.delivery.leases import clear_spent_marks, leasing
from services.delivery.schedule import next_attempt_at
from services.delivery.transport import Answer, Attempted, Job, Transport, Verdict, describe
from services.delivery_status import DeliveryStatus
from services.ids import uuid7
from services.unit_of_work import autocommit_write, unit_of_work

logger = logging.getLogger("services.delivery")


@dataclass(frozen=True)
class Sent:
    """What became of one delivery of a batch: ``succeeded``, ``retrying``, ``failed`` or
    ``disabled`` (its endpoint was)."""

    delivery_id: uuid.UUID
    request_id: str | None
    outcome: str
    error: str | None = None


async def lease(database: Database, transport: Transport, delivery_ids: list[uuid.UUID]) -> list[Job]:
    """Lease the due ones among ``delivery_ids`` and load what composing them needs: one
    statement (the UPDATE a CTE of the SELECT), with no transaction around it. The rest
    (done, not due, held by another worker) are left alone, their queue marks cleared."""
    model = transport.model
    leased = (
        leasing(model, delivery_ids, seconds=transport.lease_seconds)
        .returning(
            model.id, model.attempts, model.request_id, *(getattr(model, name) for name in transport.leased_columns)
        )
        .cte("leased")
    )
    async with autocommit_write(database=database) as conn:
        rows = list((await conn.execute(transport.loading(leased))).all())
        if len(rows) < len(delivery_ids):  # rare: one more round trip only then
            leased_ids = {row[0] for row in rows}
            await clear_spent_marks(conn, model, [i for i in delivery_ids if i not in leased_ids])
        return await transport.jobs(conn, rows) if rows else []


async def _attempt(transport: Transport, job: Job) -> Attempted:
    started = time.monotonic()
    try:
        message = transport.compose(job)
    except Exception as error:  # the same data will be refused the same way next time
        answer = Answer(Verdict.PERMANENT, None, "could not be composed: " + describe(error))
    else:
        try:
            answer = await transport.send(job, message)
        except Exception as error:
            answer = transport.classify(error)
    return Attempted(job, answer, int((time.monotonic() - started) * 1000))


def _decide(attempted: Attempted, now: datetime) -> tuple[DeliveryStatus, datetime | None, str]:
    """The delivery's status, when it is due again (None: it is not), and the outcome's name."""
    verdict = attempted.answer.verdict
    if verdict is Verdict.SUCCEEDED:
        return DeliveryStatus.SUCCEEDED, None, "succeeded"
    if verdict is Verdict.RETRY:
        due = next_attempt_at(attempted.job.attempts + 1, now=now)
        if due is not None:
            return DeliveryStatus.PENDING, due, "retrying"
    return DeliveryStatus.FAILED, None, "failed"


_OUTCOME_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("attempt_id", Uuid),
    ("delivery_id", Uuid),
    ("attempts", SmallInteger),
    ("status", String),
    ("next_attempt_at", DateTime(timezone=True)),
    ("status_code", SmallInteger),
    ("error", String),
    ("latency_ms", Integer),
    ("succeeded_at", DateTime(timezone=True)),
)


def _outcome_statement(transport: Transport, attempted: list[Attempted], now: datetime) -> Any:
    """Every attempt of the batch and its delivery's new state, the lease released: one
    statement (the deliveries' UPDATE a CTE of the attempts' INSERT)."""
    model = transport.model
    rows = []
    for one in attempted:
        status, due, _ = _decide(one, now)
        answer = one.answer
        rows.append(
            (
                uuid7(),  # given here: a statement with CTEs does not run the column's default
                one.job.delivery_id,
                one.job.attempts + 1,
                status.value,
                due,
                answer.status_code,
                answer.error[:500] if answer.error else None,
                one.latency_ms,
                now if status is DeliveryStatus.SUCCEEDED else None,
            )
        )
    columns = list(zip(*rows, strict=True))
    # One array parameter per column, unnested: the same SQL whatever the batch, so the
    # statement is compiled once per process (a VALUES list of the rows is compiled per batch).
    outcome = select(
        func.unnest(
            *(
                bindparam(name, list(column_values), type_=ARRAY(kind))
                for (name, kind), column_values in zip(_OUTCOME_COLUMNS, columns, strict=True)
            )
        )
        .table_valued(*(column(name, kind) for name, kind in _OUTCOME_COLUMNS))
        .render_derived("rows")
    ).cte("outcome")
    recorded = (
        update(model)
        .where(model.id == outcome.c.delivery_id)
        .values(
            {
                "attempts": outcome.c.attempts,
                "status": cast(outcome.c.status, model.status.type),
                "next_attempt_at": func.coalesce(outcome.c.next_attempt_at, model.next_attempt_at),
                "last_status_code": outcome.c.status_code,
                "last_error": outcome.c.error,
                "lease_until": None,
                transport.succeeded_at: outcome.c.succeeded_at,
            }
        )
        .returning(model.id)
        .cte("recorded")
    )
    attempts = transport.attempt_model
    return (
        insert(attempts)
        .from_select(
            ["id", "delivery_id", "attempted_at", "status_code", "latency_ms", "error"],
            select(
                outcome.c.attempt_id,
                outcome.c.delivery_id,
                literal(now, DateTime(timezone=True)),
                outcome.c.status_code,
                outcome.c.latency_ms,
                outcome.c.error,
            ),
        )
        .add_cte(recorded)
    )


async def record_outcomes(database: Database, transport: Transport, attempted: list[Attempted]) -> dict[uuid.UUID, str]:
    """Record a batch's attempts with the lease's release, and the transport's follow-up
    (its endpoints' health) in the same unit of work; one statement alone, without a
    transaction, when there is no follow-up. Returns each delivery's outcome."""
    now = clock.now()
    outcomes = {one.job.delivery_id: _decide(one, now)[2] for one in attempted}
    statement = _outcome_statement(transport, attempted, now)
    if not transport.needs_follow_up(attempted):
        async with autocommit_write(database=database) as conn:
            await conn.execute(statement)
        return outcomes
    async with unit_of_work(database=database) as session:
        await session.execute(statement)
        outcomes.update(await transport.follow_up(session, attempted))
    return outcomes


@contextmanager
def request_context(request_id: str | None) -> Iterator[None]:
    """The request id of the delivery at hand: log lines about it and events its outcome
    records (an endpoint disabled) carry it, whatever else its batch carries."""
    token = context.request_id.set(request_id)
    try:
        yield
    finally:
        context.request_id.reset(token)


async def send_batch(database: Database, transport: Transport, delivery_ids: list[uuid.UUID]) -> list[Sent]:
    """Attempt the due ones among ``delivery_ids`` (``transport.at_once`` at a time) and record
    their outcomes. Deliveries not due, done, or leased by another worker are left alone and
    not listed."""
    jobs = await lease(database, transport, delivery_ids)
    if not jobs:
        return []
    in_flight = asyncio.Semaphore(transport.at_once)

    async def attempt(job: Job) -> Attempted:
        async with in_flight:
            with request_context(job.request_id):
                return await _attempt(transport, job)

    attempted = list(await asyncio.gather(*(attempt(job) for job in jobs)))
    outcomes = await record_outcomes(database, transport, attempted)
    sent = []
    for one in attempted:
        outcome = outcomes[one.job.delivery_id]
        if outcome in ("failed", "disabled"):
            with request_context(one.job.request_id):
                logger.warning(
                    "%s delivery %s failed for good: %s", transport.name, one.job.delivery_id, one.answer.error
                )
        sent.append(Sent(one.job.delivery_id, one.job.request_id, outcome, one.answer.error))
    return sent
