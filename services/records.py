"""Helpers every domain's service uses on its records."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.errors import InvalidInput, PreconditionFailed
from services.events.service import EventFields, append_event
from services.principals import Principal
from services.schemas import stored_translations


def check_version(kind: str, current: int, expected: int | None) -> None:
    """Optimistic concurrency: the caller's ``If-Match`` version must be the stored one.

    ``None`` means the caller sent ``If-Match: *`` (or the route does not require it).
    """
    if expected is not None and expected != current:
        raise PreconditionFailed(
            "stale-etag",
            f"The {kind} changed since you read it (your ETag is for version {expected}, "
            f"it is now at version {current}); fetch it again and reapply your change.",
        )


def set_fields(record: Any, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set each field to its value; return ``{field: (before, after)}`` for those that changed."""
    changes: dict[str, tuple[Any, Any]] = {}
    for field, value in values.items():
        before = getattr(record, field)
        if before != value:
            setattr(record, field, value)
            changes[field] = (before, value)
    return changes


def apply_patch(
    record: Any, patch: BaseModel, *, required: frozenset[str] = frozenset(), skip: frozenset[str] = frozenset()
) -> dict[str, tuple[Any, Any]]:
    """Set the fields present in a merge patch; return ``{field: (before, after)}`` for those
    that changed. A required field sent as ``null`` is a 422."""
    values = {field: getattr(patch, field) for field in patch.model_fields_set - skip}
    for field, value in values.items():
        if value is None and field in required:
            raise InvalidInput("required-field", f"'{field}' cannot be cleared; send a value instead.")
    return set_fields(record, values)


def patch_translations(record: Any, patch: BaseModel) -> dict[str, tuple[Any, Any]]:
    """Replace a record's ``translations`` map when the patch sends one (``{}`` removes every
    translation; ``null`` is a 422, as for a required field)."""
    if "translations" not in patch.model_fields_set:
        return {}
    given = getattr(patch, "translations")  # noqa: B009 (any record's patch model)
    if given is None:
        raise InvalidInput("required-field", "'translations' cannot be cleared; send {} to remove every translation.")
    return set_fields(record, {"translations": stored_translations(given)})


def changes_payload(changes: dict[str, tuple[Any, Any]]) -> dict[str, dict[str, Any]]:
    return {field: {"before": before, "after": after} for field, (before, after) in changes.items()}


async def flush_pending(session: AsyncSession) -> None:
    """Flush what the session holds unwritten (a record added by the caller, its event) before
    statements that go to the connection directly: they may refer to it, and events keep the
    order they were recorded in."""
    if session.new or session.deleted or session.dirty:
        await session.flush()


RowLoader = Callable[[AsyncSession, uuid.UUID], Awaitable[dict[str, Any] | None]]


async def record_change(
    session: AsyncSession,
    *,
    event: str,
    subject_type: str,
    subject_id: uuid.UUID,
    load_row: RowLoader,
    actor: Principal,
    network_id: uuid.UUID | None = None,
    owner_entity_id: uuid.UUID | None = None,
    changes: dict[str, tuple[Any, Any]] | None = None,
    **extra_payload: Any,
) -> dict[str, Any]:
    """Flush a change, read the record back as the API shows it, and append the event
    ``<subject_type>.<event>`` carrying that representation (and the changed fields), with
    its audit entry. An update that changed nothing (``changes == {}``) writes neither."""
    if changes == {}:
        unchanged = await load_row(session, subject_id)
        assert unchanged is not None
        return unchanged
    await session.flush()
    row = await load_row(session, subject_id)
    assert row is not None
    await append_event(
        session,
        **loaded_change(
            event=event,
            subject_type=subject_type,
            subject_id=subject_id,
            row=row,
            actor=actor,
            network_id=network_id,
            owner_entity_id=owner_entity_id,
            changes=changes,
            **extra_payload,
        ),
    )
    return row


def loaded_change(
    *,
    event: str,
    subject_type: str,
    subject_id: uuid.UUID,
    row: dict[str, Any],
    actor: Principal,
    network_id: uuid.UUID | None = None,
    owner_entity_id: uuid.UUID | None = None,
    changes: dict[str, tuple[Any, Any]] | None = None,
    **extra_payload: Any,
) -> EventFields:
    """The event (and audit entry) of a change to a record read back already: a batch builds
    one per record and appends them all at once (``append_events``)."""
    payload: dict[str, Any] = {subject_type: row, **extra_payload}
    if changes:
        payload["changes"] = changes_payload(changes)
        before = {field: old for field, (old, _) in changes.items()}
        after = {field: new for field, (_, new) in changes.items()}
    else:
        before, after = None, {k: v for k, v in row.items() if k != "version"}
    return EventFields(
        type=f"{subject_type}.{event}",
        subject_type=subject_type,
        subject_id=subject_id,
        network_id=network_id,
        owner_entity_id=owner_entity_id,
        actor=actor,
        payload=payload,
        before=before,
        after=after,
    )
