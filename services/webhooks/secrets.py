"""Webhook signing secrets at rest: sealed with the registry's keyring
(``services/encryption.py``) in ``webhook_endpoints.secret`` and ``previous_secret``, both
under the key named in ``secrets_key_id``, each bound to its endpoint and column (a
ciphertext copied to another row or column does not open). Only creation and rotation see
a secret in clear (to show it once), and the sender (to sign)."""

import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import clock
from services.database import Database
from services.encryption import Keyring, keyring
from services.unit_of_work import unit_of_work
from services.webhooks.models import WebhookEndpoint


@dataclass(frozen=True)
class SealedSecrets:
    """An endpoint's secret columns: the key's id and the two ciphertexts."""

    key_id: str
    secret: str
    previous_secret: str | None


def _context(endpoint_id: uuid.UUID, column: str) -> str:
    return f"webhook_endpoints.{column}:{endpoint_id}"


def seal(endpoint_id: uuid.UUID, *, secret: str, previous: str | None, ring: Keyring | None = None) -> SealedSecrets:
    """``secret`` and the ``previous`` one (still signing after a rotation), sealed with the
    active key for the endpoint ``endpoint_id``."""
    ring = ring or keyring()
    key_id, sealed = ring.seal(secret, context=_context(endpoint_id, "secret"))
    sealed_previous = (
        None if previous is None else ring.seal(previous, context=_context(endpoint_id, "previous_secret"))[1]
    )
    return SealedSecrets(key_id, sealed, sealed_previous)


def unseal(endpoint_id: uuid.UUID, sealed: SealedSecrets, ring: Keyring | None = None) -> tuple[str, str | None]:
    """The endpoint's current and previous secrets, in clear."""
    ring = ring or keyring()
    secret = ring.open(sealed.secret, key_id=sealed.key_id, context=_context(endpoint_id, "secret"))
    previous = (
        None
        if sealed.previous_secret is None
        else ring.open(sealed.previous_secret, key_id=sealed.key_id, context=_context(endpoint_id, "previous_secret"))
    )
    return secret, previous


def sealed_of(endpoint: WebhookEndpoint) -> SealedSecrets:
    return SealedSecrets(endpoint.secrets_key_id, endpoint.secret, endpoint.previous_secret)


def store_secrets(endpoint: WebhookEndpoint, *, secret: str, previous: str | None) -> None:
    """Set the endpoint's secret columns (it must have its id)."""
    sealed = seal(endpoint.id, secret=secret, previous=previous)
    endpoint.secrets_key_id, endpoint.secret, endpoint.previous_secret = (
        sealed.key_id,
        sealed.secret,
        sealed.previous_secret,
    )


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one
    until its overlap after a rotation ends."""
    secret, previous = unseal(endpoint.id, sealed_of(endpoint))
    expires = endpoint.previous_secret_expires_at
    if previous is not None and expires is not None and expires > clock.now():
        return [secret, previous]
    return [secret]


_table = cast(Table, WebhookEndpoint.__table__)
# By primary key, many rows in one round trip; updated_at kept: the record did not change.
_RESEAL = (
    update(_table)
    .where(_table.c.id == bindparam("endpoint_id"))
    .values(
        secrets_key_id=bindparam("key_id"),
        secret=bindparam("sealed_secret"),
        previous_secret=bindparam("sealed_previous"),
        updated_at=_table.c.updated_at,
    )
)


async def reseal_with_active_key(session: AsyncSession, *, limit: int) -> int:
    """Re-encrypt, with the active key, up to ``limit`` endpoints' secrets that another key
    sealed; returns how many. Rows another transaction holds are skipped (a later batch gets
    them). Not a change of the record: its version, ``updated_at`` and events stay."""
    ring = keyring()
    rows = (
        await session.execute(
            select(_table.c.id, _table.c.secrets_key_id, _table.c.secret, _table.c.previous_secret)
            .where(_table.c.secrets_key_id != ring.active_id)
            .order_by(_table.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    params: list[dict[str, Any]] = []
    for endpoint_id, key_id, secret, previous in rows:
        clear, clear_previous = unseal(endpoint_id, SealedSecrets(key_id, secret, previous), ring)
        sealed = seal(endpoint_id, secret=clear, previous=clear_previous, ring=ring)
        params.append(
            {
                "endpoint_id": endpoint_id,
                "key_id": sealed.key_id,
                "sealed_secret": sealed.secret,
                "sealed_previous": sealed.previous_secret,
            }
        )
    if params:
        await session.execute(_RESEAL, params)
    return len(params)


async def reseal_all(database: Database, *, batch: int = 500) -> tuple[int, int]:
    """Re-encrypt every endpoint's secrets with the active key, ``batch`` endpoints per unit
    of work; returns how many were, and how many are still under another key (rows locked
    by a concurrent rotation or delivery outcome: run it again)."""
    resealed = 0
    while True:
        async with unit_of_work(database=database) as session:
            done = await reseal_with_active_key(session, limit=batch)
        resealed += done
        if done == 0:
            break
    async with database.read() as conn:
        remaining = await conn.scalar(
            select(func.count()).select_from(_table).where(_table.c.secrets_key_id != keyring().active_id)
        )
    return resealed, int(remaining or 0)
