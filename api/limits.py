"""Per-caller rate limits, request ids and body size limits: the edge of every request."""

import logging
import math
import time
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem_response, unexpected_error_response
from api.lifecycle import draining
from services import context
from services.errors import DomainError
from services.settings import get_settings

logger = logging.getLogger("api.errors")

HEALTH_PATHS = frozenset({"/healthz", "/readyz"})  # still answered while draining


class TooManyRequests(DomainError):
    status = 429
    title = "Too many requests"


class RateLimiter:
    """A token bucket per caller: ``burst`` requests at once, refilled at ``per_minute``.
    Counted per API process; with N replicas behind a balancer a caller gets up to N times it."""

    def __init__(self, *, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    def check(self, caller: str) -> None:
        now = time.monotonic()
        tokens, updated = self._buckets.get(caller, (self.burst, now))
        tokens = min(self.burst, tokens + (now - updated) * self.rate)
        if tokens < 1.0:
            retry_after = max(1, math.ceil((1.0 - tokens) / self.rate))
            self._buckets[caller] = (tokens, now)
            raise TooManyRequests(
                "rate-limited",
                f"Too many requests from this caller; retry in {retry_after} s.",
                headers={"Retry-After": str(retry_after)},
            )
        if len(self._buckets) > 100_000:
            self._buckets.clear()
        self._buckets[caller] = (tokens - 1.0, now)


class EdgeMiddleware:
    """Gives every request an id (``X-Request-ID``, echoed back) and refuses bodies over
    ``max_body_bytes`` with 413, whether or not a Content-Length says so in advance."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = _clean_request_id(headers.get(b"x-request-id"))
        token = context.request_id.set(request_id)
        started = False
        closing = draining.is_set()  # on the way down: ask clients to reconnect elsewhere

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = [(b"x-request-id", request_id.encode())]
                if closing:
                    extra.append((b"connection", b"close"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            if closing and scope["path"] not in HEALTH_PATHS:
                await self._shutting_down(send_with_id)
                return
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
                await self._too_large(send, request_id, scope["path"])
                return
            await self.app(scope, self._limited(receive), send_with_id)
        except Exception as error:
            if started:  # too late for a problem response; the server closes the connection
                logger.error("error after the response started (request %s)", request_id, exc_info=error)
                raise
            # Answered here, inside the server's error middleware, so the error is logged
            # once, the response keeps its request id and the connection stays usable.
            response = unexpected_error_response(scope, error, request_id)
            await response(scope, _no_receive, send)
        finally:
            context.request_id.reset(token)

    async def _shutting_down(self, send: Send) -> None:
        retry_after = get_settings().retry_after_seconds
        response = problem_response(
            503,
            "shutting-down",
            f"This server is shutting down; nothing was changed. Retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )
        await response({"type": "http"}, _no_receive, send)

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise _BodyTooLarge(self.max_body_bytes)
            return message

        return limited_receive

    async def _too_large(self, send: Send, request_id: str, path: str) -> None:
        response = problem_response(
            413,
            "payload-too-large",
            f"The request body is larger than {self.max_body_bytes} bytes.",
            headers={"X-Request-ID": request_id},
            instance=path,
        )
        await response({"type": "http"}, _no_receive, send)


class _BodyTooLarge(HTTPException):
    """Raised while the body streams in; FastAPI passes HTTP exceptions through its body
    parsing, so it reaches the problem handler as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _clean_request_id(raw: bytes | None) -> str:
    if raw and 0 < len(raw) <= 100 and all(chr(c).isalnum() or chr(c) in "-_." for c in raw):
        return raw.decode()
    return uuid.uuid4().hex
