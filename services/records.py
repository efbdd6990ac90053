"""Helpers every domain's service uses on its records."""

from typing import Any

from pydantic import BaseModel

from services.errors import InvalidInput, PreconditionFailed


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


def apply_patch(
    record: Any, patch: BaseModel, *, required: frozenset[str] = frozenset(), skip: frozenset[str] = frozenset()
) -> dict[str, tuple[Any, Any]]:
    """Set the fields present in a merge patch; return ``{field: (before, after)}`` for those
    that changed. A required field sent as ``null`` is a 422."""
    changes: dict[str, tuple[Any, Any]] = {}
    for field in patch.model_fields_set - skip:
        value = getattr(patch, field)
        if value is None and field in required:
            raise InvalidInput("required-field", f"'{field}' cannot be cleared; send a value instead.")
        before = getattr(record, field)
        if before != value:
            setattr(record, field, value)
            changes[field] = (before, value)
    return changes


def changes_payload(changes: dict[str, tuple[Any, Any]]) -> dict[str, dict[str, Any]]:
    return {field: {"before": before, "after": after} for field, (before, after) in changes.items()}
