"""From a credential to a principal, without a database round trip on every request."""

import asyncio
import dataclasses
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.api_keys import repository as keys
from services.api_keys.secrets import hash_key, looks_like_key
from services.auth.tokens import TokenVerifier
from services.clock import clock
from services.database import is_read_only, read_only_episode
from services.errors import DomainError, Unauthenticated
from services.people.repository import person_with_address
from services.principals import Principal, Role
from services.settings import Settings

Connector = Callable[[], AbstractAsyncContextManager[AsyncConnection]]

MAX_CACHED = 10_000


@dataclass(frozen=True)
class _Verdict:
    principal: Principal | None
    refusal: DomainError | None
    trusted_until: float  # monotonic time
    credential_expires_at: float  # Unix time the key or token itself stops being valid


class Authenticator:
    """Verifies API keys (by hash, against the database) and bearer tokens (by signature).
    Verdicts, refusals included, are kept ``auth_cache_seconds``, so a revoked key stops
    working within that time in every process, and at once in the one that revoked it."""

    def __init__(self, settings: Settings, tokens: TokenVerifier | None = None) -> None:
        self.settings = settings
        self.tokens = tokens or TokenVerifier(settings)
        self._verdicts: dict[str, _Verdict] = {}
        # Verifications under way: when a verdict lapses under load, the many requests that
        # carry the credential wait for one database lookup instead of each making their own.
        self._verifying: dict[str, asyncio.Task[_Verdict]] = {}
        self._forgotten = 0  # bumped by forget_key: a verification begun before is not kept

    async def authenticate(
        self, credential: str, connect: Connector, *, before_verifying: Callable[[], Awaitable[None]] | None = None
    ) -> Principal:
        """The principal ``credential`` names, or ``Unauthenticated``. ``before_verifying`` is
        awaited first when the credential must be checked anew (the database, the identity
        provider), not when this process still trusts its verdict: it may refuse (a limit)."""
        fingerprint = hashlib.sha256(credential.encode()).hexdigest()
        verdict = self._verdicts.get(fingerprint)
        now = time.monotonic()
        if verdict is None or verdict.trusted_until <= now or verdict.credential_expires_at <= time.time():
            if before_verifying is not None:
                await before_verifying()
            verdict = await self._verify_once(fingerprint, credential, connect)
        if verdict.refusal is not None:
            raise verdict.refusal
        assert verdict.principal is not None
        return verdict.principal

    async def _verify_once(self, fingerprint: str, credential: str, connect: Connector) -> _Verdict:
        task = self._verifying.get(fingerprint)
        if task is None:
            forgotten = self._forgotten
            task = asyncio.ensure_future(self._verify(credential, connect))
            self._verifying[fingerprint] = task

            def keep(done: asyncio.Task[_Verdict]) -> None:
                self._verifying.pop(fingerprint, None)
                if done.cancelled() or done.exception() is not None or forgotten != self._forgotten:
                    return
                if len(self._verdicts) >= MAX_CACHED:
                    self._verdicts.clear()
                self._verdicts[fingerprint] = done.result()

            task.add_done_callback(keep)
        # Shielded: one waiting request giving up does not cancel the others' verification.
        return await asyncio.shield(task)

    def forget_key(self, key_id: uuid.UUID) -> None:
        """Drop what this process knows of a key (after revoking it here)."""
        self._forgotten += 1
        self._verdicts = {
            f: v for f, v in self._verdicts.items() if v.principal is None or v.principal.api_key_id != key_id
        }

    async def _verify(self, credential: str, connect: Connector) -> _Verdict:
        trusted_until = time.monotonic() + self.settings.auth_cache_seconds
        try:
            if looks_like_key(credential):
                principal, expires = await self._verify_key(credential, connect)
            elif credential.count(".") == 2:
                principal, expires, email = await self.tokens.verify(credential)
                principal = await _as_person(principal, email, connect)
            else:
                raise Unauthenticated(
                    "invalid-credentials", "Send an API key or a bearer token: Authorization: Bearer <credential>."
                )
        except DomainError as refusal:
            if refusal.kind == "identity-provider-unavailable":
                trusted_until = time.monotonic()  # do not remember an outage
            return _Verdict(None, refusal, trusted_until, float("inf"))
        return _Verdict(principal, None, trusted_until, expires)

    async def _verify_key(self, key: str, connect: Connector) -> tuple[Principal, float]:
        async with connect() as conn:
            row = await keys.find_key_for_authentication(conn, hash_key(key))
            if row is None:
                raise Unauthenticated("invalid-api-key", "The API key is not valid.")
            if row["revoked_at"] is not None:
                raise Unauthenticated("api-key-revoked", "The API key has been revoked.")
            if row["expires_at"] <= clock.now():
                raise Unauthenticated("api-key-expired", "The API key has expired; ask the secretariat for a new one.")
            await _record_use(conn, row["id"])
        principal = Principal(
            id=f"key:{row['id']}",
            role=Role(row["role"]),
            entity_id=row["entity_id"],
            api_key_id=row["id"],
            person_id=row["person_id"],
        )
        return principal, row["expires_at"].timestamp()


async def _as_person(principal: Principal, email: str | None, connect: Connector) -> Principal:
    """A token of an entity whose e-mail address is a person of that entity (not erased) acts
    as that person; any other token stays a principal without a person."""
    if principal.entity_id is None or not email:
        return principal
    async with connect() as conn:
        person_id = await person_with_address(conn, principal.entity_id, email)
    return dataclasses.replace(principal, person_id=person_id) if person_id is not None else principal


async def _record_use(conn: AsyncConnection, key_id: uuid.UUID) -> None:
    """Touch the key's ``last_used_at``, unless the database is read-only: a read must not
    fail for want of a bookkeeping write (the connection is autocommit, so the refused
    statement leaves it usable)."""
    try:
        await keys.touch_last_used(conn, key_id)
    except DBAPIError as error:
        if not is_read_only(error):
            raise
        read_only_episode.met("recording an API key's last use (requests go on; last_used_at is not updated)")
    else:
        read_only_episode.ended()
