"""The one family of business errors. The API turns each into RFC 9457 problem+json."""

from typing import Any


class DomainError(Exception):
    """A rule said no. ``kind`` is the stable problem type slug; ``detail`` tells a person what to do."""

    status: int = 409
    title: str = "Conflict with the registry's rules"

    def __init__(self, kind: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.extra = extra


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
