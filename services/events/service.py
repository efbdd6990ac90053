"""Appending events, and with each its audit entry. Callers pass the session that holds
the change itself, so the change, its event and its audit entry commit together."""

import uuid
from collections.abc import Sequence
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services import context
from services.events.catalogue import require_known
from services.events.models import TRANSACTION_ORDER
from services.ids import uuid7
from services.principals import Principal

PENDING_EVENTS_FLAG = "events_pending"


class EventFields(TypedDict, total=False):
    """What a change records: its event, and the same change in the audit log.

    ``owner_entity_id`` is the entity whose focal point may read the audit entry;
    ``before``/``after`` are the changed fields (or the whole record on creation/deletion)."""

    type: Required[str]
    subject_type: Required[str]
    subject_id: Required[uuid.UUID]
    actor: Required[Principal]
    payload: Required[dict[str, Any]]
    network_id: uuid.UUID | None
    owner_entity_id: uuid.UUID | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _rows(fields: EventFields) -> tuple[dict[str, Any], dict[str, Any]]:
    """The event's and the audit entry's columns, under the request's id."""
    actor, request_id, network_id = fields["actor"], context.request_id.get(), fields.get("network_id")
    event = {
        "type": fields["type"],
        "subject_type": fields["subject_type"],
        "subject_id": fields["subject_id"],
        "network_id": network_id,
        "actor": actor.id,
        "payload": fields["payload"],
        "request_id": request_id,
    }
    audit = {
        "principal_id": actor.id,
        "principal_role": actor.role.value,
        "principal_person_id": actor.person_id,
        "action": fields["type"],
        "resource_type": fields["subject_type"],
        "resource_id": fields["subject_id"],
        "owner_entity_id": fields.get("owner_entity_id"),
        "network_id": network_id,
        "before": fields.get("before"),
        "after": fields.get("after"),
        "request_id": request_id,
    }
    return event, audit


# The event and its audit entry in one statement (one round trip, no ORM flush): the write
# routes that matter most for throughput need it. Columns and defaults are those of the Event
# and AuditEntry models; occurred_at is now() in both.
_APPEND_EVENT = text(
    "WITH new_event AS ("
    " INSERT INTO events (id, type, subject_type, subject_id, network_id, actor, payload, request_id)"
    " VALUES (:event_id, :type, :subject_type, :subject_id, :network_id, :actor, :payload, :request_id))"
    " INSERT INTO audit_log (id, principal_id, principal_role, principal_person_id, action, resource_type,"
    " resource_id, owner_entity_id, network_id, before, after, request_id)"
    " VALUES (:audit_id, :actor, :principal_role, :principal_person_id, :type, :subject_type, :subject_id, :owner_entity_id,"
    " :network_id, :before, :after, :request_id)"
).bindparams(
    bindparam("payload", type_=JSONB),
    bindparam("before", type_=JSONB),
    bindparam("after", type_=JSONB),
)


async def append_events(session: AsyncSession, events: Sequence[EventFields]) -> list[uuid.UUID]:
    """Append events and their audit entries to the session's transaction, at once: the only
    way events are written. One statement on the session's connection, run for every event
    in one round trip (a batch actor's events cost what one costs). What the session holds
    unwritten is flushed first, so the records the events refer to, and events appended
    before them, are written before them; the events keep their order. The session is
    flagged so that, after commit, the unit of work nudges the relay. Returns their ids.

    Raises ``ValueError`` for a type the catalogue (services.events.catalogue) does not list:
    that is a programming error, never a client's."""
    if not events:
        return []
    for fields in events:
        require_known(fields["type"])
    if session.new or session.deleted or session.dirty:
        await session.flush()  # what the events refer to, and events appended earlier, go first
    ids: list[uuid.UUID] = []
    parameters: list[dict[str, Any]] = []
    for fields in events:
        event_row, audit_row = _rows(fields)
        ids.append(uuid7())
        parameters.append(
            {
                **event_row,
                "event_id": ids[-1],
                "audit_id": uuid7(),
                "principal_role": audit_row["principal_role"],
                "principal_person_id": audit_row["principal_person_id"],
                "owner_entity_id": audit_row["owner_entity_id"],
                "before": audit_row["before"],
                "after": audit_row["after"],
            }
        )
    connection: AsyncConnection = await session.connection()
    await connection.execute(_APPEND_EVENT, parameters[0] if len(parameters) == 1 else parameters)
    session.info[PENDING_EVENTS_FLAG] = True
    return ids


async def append_event(session: AsyncSession, **fields: Unpack[EventFields]) -> uuid.UUID:
    """:func:`append_events` for one event; returns its id."""
    (event_id,) = await append_events(session, [fields])
    return event_id


async def continue_feed_after_restore(session: AsyncSession) -> int | None:
    """After a dump is restored into another server, its transaction ids may run behind the
    restored events': raise the database's offset so that new events sort after them and the
    feed's readers, cursors included, go on where they were. Returns the new offset, or
    ``None`` when the ids are in order already (every start but the first after a restore).
    New connections use it; run before the service starts (``registry migrate`` does)."""
    row = (
        await session.execute(
            text(f"SELECT (SELECT max(transaction_id) FROM events) AS newest, {TRANSACTION_ORDER} AS now")  # noqa: S608 - a constant
        )
    ).one()
    if row.newest is None or row.newest < row.now:
        return None
    offset = int(row.newest) + 1  # any transaction id (at least 1) plus this is past the newest
    statement = await session.scalar(
        text("SELECT format('ALTER DATABASE %I SET registry.xid_offset = %L', current_database(), CAST(:o AS text))"),
        {"o": str(offset)},
    )
    await session.execute(text(statement))
    await session.execute(text("SELECT set_config('registry.xid_offset', CAST(:o AS text), false)"), {"o": str(offset)})
    return offset
