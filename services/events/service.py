"""Appending events, and with each its audit entry. Callers pass the session that holds
the change itself, so the change, its event and its audit entry commit together."""

import uuid
from collections.abc import Sequence
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    String,
    Uuid,
    bindparam,
    case,
    column,
    func,
    insert,
    literal_column,
    null,
    select,
    table,
    text,
)
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
    """Append events and their audit entries to the session's transaction, at once: the way
    every change writes its events (the hottest creations write the row, its event and its
    audit entry in one statement instead: :func:`insert_recording_event`, with the same
    checks). One statement on the session's connection, run for every event
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


# The events and audit_log columns an insert that records its event writes (the models'
# defaults, occurred_at and transaction_id included, fill the rest).
_EVENTS = table(
    "events",
    *(column(name, Uuid) for name in ("id", "subject_id", "network_id")),
    *(column(name, String) for name in ("type", "subject_type", "actor", "request_id")),
    column("payload", JSONB),
)
_AUDIT_LOG = table(
    "audit_log",
    *(column(name, Uuid) for name in ("id", "principal_person_id", "resource_id", "owner_entity_id", "network_id")),
    *(column(name, String) for name in ("principal_id", "principal_role", "action", "resource_type", "request_id")),
    column("before", JSONB),
    column("after", JSONB),
)


def _as_json(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A column the database sets, as the registry's JSON writes it (services.database.json_dumps:
    orjson): a time in UTC with microseconds only when there are some; anything else as is."""
    if not isinstance(value.type, DateTime):
        return value
    utc = func.timezone(_sql("UTC"), value)
    seconds = func.to_char(utc, _sql('YYYY-MM-DD"T"HH24:MI:SS'))
    fraction = case((func.to_char(utc, _sql("US")) == _sql("000000"), _sql("")), else_=func.to_char(utc, _sql(".US")))
    return seconds.concat(fraction).concat(_sql("+00:00"))


def _sql(constant: str) -> ColumnElement[str]:
    """A string constant of the code, written into the statement rather than bound."""
    return literal_column("'" + constant.replace("'", "''") + "'", String)


def _insert_selecting(into: Any, source: Any, values: dict[str, Any]) -> Any:
    """INSERT INTO ``into`` SELECT ... FROM ``source``: each column named beside its value."""
    return insert(into).from_select(list(values), select(*values.values()).select_from(source))


def insert_recording_event(new_record: Select[Any], *, record_key: str, set_by_database: Sequence[str]) -> Select[Any]:
    """``new_record`` (the record as the API shows it, read from a data-modifying CTE: an
    INSERT ... RETURNING) together with its event and its audit entry: one statement, one
    round trip, written only if the record is (an insert that does nothing, ON CONFLICT or
    for a rule it checks, records nothing). The event's payload is
    ``{record_key: record}`` and the audit entry's ``after`` the record without its version,
    as :func:`append_events` writes them: the record is the ``known`` parameter (what the
    caller inserts, as JSON) merged with the columns ``set_by_database`` (defaults, generated
    columns, the version) read from the inserted row. Build it once, at import; run it with
    :func:`run_insert_recording_event`."""
    new = new_record.cte("new_record")
    returned = {c.key: c for c in new.c}
    pairs: list[Any] = []
    for name in set_by_database:
        pairs += [_sql(name), _as_json(returned[name])]
    record = bindparam("known", type_=JSONB).op("||", return_type=JSONB)(func.jsonb_build_object(*pairs))
    rendered = select(record.label("record")).select_from(new).cte("rendered")
    event = _insert_selecting(
        _EVENTS,
        rendered,
        {
            "id": bindparam("event_id", type_=Uuid),
            "type": bindparam("type", type_=String),
            "subject_type": bindparam("subject_type", type_=String),
            "subject_id": bindparam("subject_id", type_=Uuid),
            "network_id": bindparam("network_id", type_=Uuid),
            "actor": bindparam("actor", type_=String),
            "payload": func.jsonb_build_object(_sql(record_key), rendered.c.record),
            "request_id": bindparam("request_id", type_=String),
        },
    )
    audit = _insert_selecting(
        _AUDIT_LOG,
        rendered,
        {
            "id": bindparam("audit_id", type_=Uuid),
            "principal_id": bindparam("actor", type_=String),
            "principal_role": bindparam("principal_role", type_=String),
            "principal_person_id": bindparam("principal_person_id", type_=Uuid),
            "action": bindparam("type", type_=String),
            "resource_type": bindparam("subject_type", type_=String),
            "resource_id": bindparam("subject_id", type_=Uuid),
            "owner_entity_id": bindparam("owner_entity_id", type_=Uuid),
            "network_id": bindparam("network_id", type_=Uuid),
            "before": null(),
            "after": rendered.c.record.op("-", return_type=JSONB)(_sql("version")),
            "request_id": bindparam("request_id", type_=String),
        },
    )
    # PostgreSQL runs every data-modifying CTE, whether the main query reads it or not.
    return select(*new.c).add_cte(event.cte("new_event")).add_cte(audit.cte("new_audit_entry"))


async def run_insert_recording_event(
    session: AsyncSession,
    statement: Select[Any],
    values: dict[str, Any],
    *,
    known: dict[str, Any],
    type: str,
    subject_type: str,
    subject_id: uuid.UUID,
    actor: Principal,
    network_id: uuid.UUID | None = None,
    owner_entity_id: uuid.UUID | None = None,
) -> dict[str, Any] | None:
    """Run a statement of :func:`insert_recording_event` with the insert's ``values``, the
    record's ``known`` fields and its event's fields (as :func:`append_events` takes them; the
    payload and the audit entry's ``after`` are the statement's); the inserted row, or
    ``None`` when nothing was inserted (and so no event recorded). What the session holds
    unwritten is flushed first, as :func:`append_events` does."""
    require_known(type)
    if session.new or session.deleted or session.dirty:
        await session.flush()
    event_row, audit_row = _rows(
        {
            "type": type,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "actor": actor,
            "payload": {},
            "network_id": network_id,
            "owner_entity_id": owner_entity_id,
        }
    )
    parameters = {
        **values,
        **{k: v for k, v in event_row.items() if k != "payload"},
        "known": known,
        "event_id": uuid7(),
        "audit_id": uuid7(),
        "principal_role": audit_row["principal_role"],
        "principal_person_id": audit_row["principal_person_id"],
        "owner_entity_id": audit_row["owner_entity_id"],
    }
    connection: AsyncConnection = await session.connection()
    row = (await connection.execute(statement, parameters)).mappings().first()
    if row is None:
        return None
    session.info[PENDING_EVENTS_FLAG] = True
    # Plain str keys: a CTE's column names are str subclasses, which the JSON encoder refuses.
    return {str(key): value for key, value in row.items()}


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
