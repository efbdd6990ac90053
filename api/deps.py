"""Request dependencies, as ``Annotated`` aliases routers declare."""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from api.export import HeaderStyle
from api.limits import Limits, client_address
from services.api_keys.authenticator import Authenticator
from services.database import get_database
from services.errors import DomainError, InvalidInput, PreconditionFailed, Unauthenticated
from services.locales import LANGUAGES
from services.pagination import PageCursor, PageRequest, decode_cursor
from services.principals import Principal
from services.schemas import Form, OneLine
from services.settings import get_settings
from services.tables import CsvHeader
from services.unit_of_work import unit_of_work

logger = logging.getLogger("api")

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API key (`mnr_…`) or a JWT from the UN identity provider.",
)


async def write_session() -> AsyncIterator[AsyncSession]:
    """The request's unit of work (committed before the response is sent; the after-commit
    hooks, the relay's nudge, run in the background)."""
    async with unit_of_work(background=True) as session:
        yield session


async def read_connection() -> AsyncIterator[AsyncConnection]:
    """An autocommit connection: each read is one round trip."""
    async with get_database().read() as connection:
        yield connection


async def auth_connector() -> Callable[[], AbstractAsyncContextManager[AsyncConnection]]:
    """How authentication reaches the database, on the rare request its cache cannot answer."""
    return get_database().read


PRINCIPAL_SCOPE_KEY = "registry.principal"


async def authenticate_request(
    request: Request, connect: Callable[[], AbstractAsyncContextManager[AsyncConnection]]
) -> Principal:
    """Who is calling, once per request (the access gate may already have asked): every /v1
    route needs an API key or a bearer token. Rate-limited per caller; failures are limited per
    client address and key prefix (api.limits)."""
    known = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if isinstance(known, Principal):
        return known
    credentials = await bearer(request)
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated("authentication-required", "Send Authorization: Bearer <API key or token>.")
    authenticator: Authenticator = request.app.state.authenticator
    limits: Limits = request.app.state.limits
    credential = credentials.credentials
    address = client_address(request.scope.get("client"))
    try:
        principal = await authenticator.authenticate(
            credential, connect, before_verifying=lambda: limits.before_verifying(address, credential)
        )
    except Unauthenticated as refusal:
        await limits.authentication_failed(address, credential, refusal)  # 429 instead, once over the limit
        raise
    await limits.admit_caller(principal.id, address)
    request.scope[PRINCIPAL_SCOPE_KEY] = principal
    return principal


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    connect: Annotated[Callable[[], AbstractAsyncContextManager[AsyncConnection]], Depends(auth_connector)],
) -> Principal:
    """Who is calling (``credentials`` is declared so that OpenAPI documents the scheme)."""
    return await authenticate_request(request, connect)


PAGE_LIMIT = 200  # the largest limit a request may name (PAGE_SIZE_MAX may lower it)


async def page_request(
    limit: Annotated[int | None, Query(ge=1, le=PAGE_LIMIT, description=f"Page size, at most {PAGE_LIMIT}.")] = None,
    cursor: Annotated[
        PageCursor | None,
        Query(
            max_length=26,
            description="Opaque cursor from the previous page's Link header.",
        ),
    ] = None,
    header: HeaderStyle = CsvHeader.LABELS,
) -> PageRequest:
    """The page a list request asks for. ``header`` is declared here, beside the paging,
    because every list route exports as CSV; the export reads it (``api.export``)."""
    del header
    settings = get_settings()
    size = settings.page_size_default if limit is None else limit
    if size > settings.page_size_max:
        raise InvalidInput(
            "page-size-too-large", f"limit must be at most {settings.page_size_max}; follow the next link for more."
        )
    return PageRequest(limit=size, after=decode_cursor(cursor) if cursor else None)


class PreconditionRequired(DomainError):
    status = 428
    title = "Precondition required"


def parse_if_match(value: str | None, *, required: bool) -> int | None:
    """The version an ``If-Match`` header names; ``None`` for ``*`` or an optional absent header."""
    if value is None:
        if required:
            raise PreconditionRequired(
                "if-match-required",
                "Send If-Match with the ETag from your last GET of this record, "
                "so that you do not overwrite a change you have not seen.",
            )
        return None
    value = value.strip()
    if value == "*":
        return None
    tag = value.split(",")[0].strip()
    # A representation in another language is tagged "3-fr": the same version of the record.
    version, _, language = tag[1:-1].partition("-")
    if (
        tag.startswith("W/")
        or not (tag.startswith('"') and tag.endswith('"'))
        or not version.isdigit()
        or (language and language not in LANGUAGES)
    ):
        raise PreconditionFailed(
            "stale-etag", f"If-Match {value} does not match the record's current ETag; fetch it again."
        )
    return int(version)


# An ETag this service issues ("3"), or *: anything else is malformed (422), not stale (412).
ETag = Annotated[
    str,
    Form(
        r'^\s*(\*|"[0-9]{1,18}(-(ar|zh|fr|ru|es))?")\s*$',
        'an ETag from your last read of the record, such as "3" (or "3-fr" read in French), or *',
    ),
]
ETAG_MAX_LENGTH = 64  # a quoted 18-digit version with room for surrounding spaces
IfMatchHeader = Annotated[
    ETag | None,
    Header(
        max_length=ETAG_MAX_LENGTH,
        description='The ETag of your last read of the record (`"3"`, or `"3-fr"` read in French), or `*`.',
    ),
]


async def if_match_required(
    if_match: Annotated[
        ETag,
        Header(
            max_length=ETAG_MAX_LENGTH,
            description='The ETag of your last read of the record (`"3"`, or `"3-fr"` read in French), or `*`.',
        ),
    ],
) -> int | None:
    """Required, so that a missing If-Match is found with the other validation errors: alone it
    is a 428 (api.errors), after any 422, as the order of checks wants."""
    return parse_if_match(if_match, required=True)


async def if_match_optional(if_match: IfMatchHeader = None) -> int | None:
    return parse_if_match(if_match, required=False)


Authenticated = Depends(current_principal)
DbSession = Annotated[AsyncSession, Depends(write_session, scope="function")]
DbRead = Annotated[AsyncConnection, Depends(read_connection, scope="function")]
CurrentPrincipal = Annotated[Principal, Authenticated]
Pagination = Annotated[PageRequest, Depends(page_request)]
RequiredIfMatch = Annotated[int | None, Depends(if_match_required)]
OptionalIfMatch = Annotated[int | None, Depends(if_match_optional)]
IDEMPOTENCY_KEY_MAX_LENGTH = 255  # the stored key's column
IdempotencyKeyHeader = Annotated[
    OneLine | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        description="Replaying a key returns the stored response.",
    ),
]
