"""The one family of business errors. The API turns each into RFC 9457 problem+json."""

from typing import Any


class DomainError(Exception):
    """A rule said no. ``kind`` is the stable problem type slug; ``detail`` tells a person what to do."""

    status: int = 409
    title: str = "Conflict with the registry's rules"

    def __init__(self, kind: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.headers = headers
        self.extra = extra


class Unauthenticated(DomainError):
    status = 401
    title = "Authentication required"

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(kind, detail, headers={"WWW-Authenticate": 'Bearer realm="migration-network-registry"'})


class Forbidden(DomainError):
    status = 403
    title = "Not allowed for your role"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict with the registry's rules"


class InvalidInput(DomainError):
    """The request is well-formed but a value in it cannot be accepted."""

    status = 422
    title = "Invalid input"


class PreconditionFailed(DomainError):
    status = 412
    title = "Precondition failed"


class Gone(DomainError):
    """What the request names existed once and is gone for good (an expired link, a removed invitee)."""

    status = 410
    title = "Gone"
