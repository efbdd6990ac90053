"""Claiming keys and storing responses, in the transaction of the request itself.

The claim is an insert: a concurrent request with the same key waits on it until the
first one commits (then replays its response) or rolls back (then runs itself). A failed
request stores nothing, so a retry after an error runs again.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.errors import InvalidInput
from services.idempotency.models import IdempotencyKey

KEY_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"%s %s\n%s" % (method.encode(), path.encode(), body)).hexdigest()


async def claim_key(
    session: AsyncSession, *, principal_id: str, key: str, request_fingerprint: str
) -> StoredResponse | None:
    """Claim ``key`` for this request. Returns the stored response if an earlier request
    with the same key and payload succeeded; ``None`` means: go ahead and act."""
    if not 1 <= len(key) <= 255:
        raise InvalidInput("invalid-idempotency-key", "Idempotency-Key must be 1 to 255 characters.")
    claimed = await session.scalar(
        insert(IdempotencyKey)
        .values(principal_id=principal_id, key=key, fingerprint=request_fingerprint)
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    )
    if claimed is not None:
        return None
    stored = await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.principal_id == principal_id, IdempotencyKey.key == key)
    )
    assert stored is not None and stored.status_code is not None and stored.body is not None
    if stored.fingerprint != request_fingerprint:
        raise InvalidInput(
            "idempotency-key-reused",
            "This Idempotency-Key was already used for a different request; use a new key for a new request.",
        )
    return StoredResponse(stored.status_code, dict(stored.headers or {}), stored.body)


async def store_response(
    session: AsyncSession, *, principal_id: str, key: str, status_code: int, headers: dict[str, Any], body: bytes
) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.principal_id == principal_id, IdempotencyKey.key == key)
        .values(status_code=status_code, headers=headers, body=body)
    )


async def purge_expired_keys(session: AsyncSession, *, now: datetime) -> int:
    """Forget keys older than their lifetime; returns how many."""
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEY_LIFETIME))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
