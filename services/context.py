"""Per-request context the services read without it being passed through every call."""

from contextvars import ContextVar

# The request id (X-Request-ID) of the HTTP request being served, for the audit trail.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
