"""``Idempotency-Key`` on POST: a replay returns the stored response."""

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.responses import record_response
from services.idempotency.service import claim_key, fingerprint, store_response
from services.principals import Principal

_REPLAYED_HEADERS = ("content-type", "location", "etag")


async def idempotent(
    session: AsyncSession,
    request: Request,
    principal: Principal,
    key: str | None,
    act: Callable[[], Awaitable[Response]],
    *,
    never_store: tuple[str, ...] = (),
) -> Response:
    """Run ``act`` once per key: the key is claimed in the request's own transaction and the
    response stored with the change, so both commit or neither does. Top-level fields named in
    ``never_store`` (secrets shown once) are left out of the stored copy, and so of a replay."""
    if key is None:
        return await act()
    request_fingerprint = fingerprint(request.method, request.url.path, await request.body())
    stored = await claim_key(session, principal_id=principal.id, key=key, request_fingerprint=request_fingerprint)
    if stored is not None:
        return Response(
            stored.body, status_code=stored.status_code, headers={**stored.headers, "Idempotent-Replayed": "true"}
        )
    response = await act()
    headers = {name: response.headers[name] for name in _REPLAYED_HEADERS if name in response.headers}
    body = bytes(response.body)
    if never_store:
        body = orjson.dumps({k: v for k, v in orjson.loads(body).items() if k not in never_store})
    await store_response(
        session, principal_id=principal.id, key=key, status_code=response.status_code, headers=headers, body=body
    )
    return response


async def create_once(
    session: AsyncSession,
    request: Request,
    principal: Principal,
    key: str | None,
    create: Callable[[], Awaitable[dict[str, Any]]],
    *,
    collection: str,
) -> Response:
    """A POST that creates a record: 201 with its ``Location`` (under ``collection``) and
    ``ETag``, once per ``Idempotency-Key``."""

    async def act() -> Response:
        row = await create()
        return record_response(row, status_code=201, location=f"{collection}/{row['id']}")

    return await idempotent(session, request, principal, key, act)
