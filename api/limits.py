"""The edge of every request: the limits it meets (per caller, failed authentications per
address and key prefix, unknown calendar URLs per address), its request id and its body size."""

import ipaddress
import logging
import math
import uuid
from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem_response, request_language, unexpected_error_response
from api.lifecycle import draining
from api.limit_store import Count, LimitStore, Rule
from services import context
from services.api_keys.secrets import looks_like_key, public_prefix
from services.errors import DomainError
from services.locales import N_
from services.observability.metrics import AUTH_FAILURES, RATE_LIMITED
from services.settings import Settings, get_settings

logger = logging.getLogger("api.errors")
limits_log = logging.getLogger("api.limits")

HEALTH_PATHS = frozenset({"/healthz", "/readyz"})  # still answered while draining
NOT_THE_CALLERS_FAILURE = frozenset({"identity-provider-unavailable"})  # refusals no limit counts


class TooManyRequests(DomainError):
    status = 429
    title = "Too many requests"


def client_address(client: tuple[str, int] | None) -> str:
    """Whom per-address limits count: the peer's address (a trusted proxy's X-Forwarded-For,
    see FORWARDED_ALLOW_IPS), an IPv6 one by its /64, as one host is usually given a whole /64."""
    if client is None:
        return "unknown"
    host = client[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def failure_kind(credential: str) -> str:
    """What was sent, for the metric: never the credential itself."""
    if looks_like_key(credential):
        return "api_key"
    return "token" if credential.count(".") == 2 else "malformed"


class Limits:
    """The limits every request meets, counted in ``store`` (shared by every API process, or
    this one's own): requests per caller; failed authentications per client address and per
    key prefix; calendar URLs that find no feed, per client address. Failures are refused
    before they are checked, so a refused guess costs no database lookup."""

    def __init__(self, store: LimitStore, settings: Settings) -> None:
        window = settings.auth_failure_window_seconds
        self.store = store
        self.caller = Rule("caller", settings.rate_limit_burst, 60.0 / settings.rate_limit_per_minute)
        self.address_failures = Rule.per_window("auth-failures", settings.auth_failures_per_address, window)
        self.prefix_failures = Rule.per_window("key-prefix-failures", settings.auth_failures_per_key_prefix, window)
        self.calendar_failures = Rule.per_window("calendar-failures", settings.calendar_failures_per_address, window)

    async def before_verifying(self, address: str, credential: str) -> None:
        """Refuses a credential from an address, or with a key prefix, over its failures."""
        await self._admit(check=self._failure_counts(address, credential))

    async def authentication_failed(self, address: str, credential: str, refusal: DomainError) -> None:
        """Counts a refused credential; refuses (429) when that was one too many. An identity
        provider that did not answer is not the caller's failure: not counted."""
        if refusal.kind in NOT_THE_CALLERS_FAILURE:
            return
        AUTH_FAILURES.labels(failure_kind(credential)).inc()
        await self._admit(spend=self._failure_counts(address, credential))

    async def admit_caller(self, caller: str, address: str) -> None:
        """An authenticated request: its address within its failures, its caller within its rate."""
        await self._admit(check=[Count(self.address_failures, address)], spend=[Count(self.caller, caller)])

    async def before_calendar_lookup(self, address: str) -> None:
        await self._admit(check=[Count(self.calendar_failures, address)])

    async def calendar_not_found(self, address: str) -> None:
        AUTH_FAILURES.labels("calendar_token").inc()
        await self._admit(spend=[Count(self.calendar_failures, address)])

    async def admit_calendar(self, subscription_id: str, address: str) -> None:
        await self._admit(
            check=[Count(self.calendar_failures, address)], spend=[Count(self.caller, f"calendar:{subscription_id}")]
        )

    async def close(self) -> None:
        await self.store.close()

    def _failure_counts(self, address: str, credential: str) -> list[Count]:
        counts = [Count(self.address_failures, address)]
        prefix = public_prefix(credential)
        if prefix is not None:
            counts.append(Count(self.prefix_failures, prefix))
        return counts

    async def _admit(self, *, check: Sequence[Count] = (), spend: Sequence[Count] = ()) -> None:
        verdict = await self.store.admit(check=check, spend=spend)
        if verdict.refused is None:
            return
        count = verdict.refused
        RATE_LIMITED.labels(count.rule.name).inc()
        if verdict.first_refusal and count.rule is not self.caller:
            limits_log.warning(
                "%s %s: more than %d %s within %.0f s; refused with 429 until fewer",
                "key prefix" if count.rule is self.prefix_failures else "client",
                count.subject,
                count.rule.burst,
                "unknown calendar URLs" if count.rule is self.calendar_failures else "failed authentications",
                count.rule.window_seconds,
            )
        retry_after = max(1, math.ceil(verdict.retry_after_seconds))
        kind, detail = self._refusal(count, retry_after)
        raise TooManyRequests(kind, detail, headers={"Retry-After": str(retry_after)})

    def _refusal(self, count: Count, retry_after: int) -> tuple[str, str]:
        window = f"{count.rule.window_seconds:.0f} s"
        if count.rule is self.address_failures:
            return "too-many-failed-authentications", (
                f"More than {count.rule.burst} failed authentications from your address ({count.subject}) "
                f"within {window}. Check the API key or token you send (Authorization: Bearer <credential>); "
                f"retry in {retry_after} s."
            )
        if count.rule is self.prefix_failures:
            return "too-many-failed-authentications", (
                f"More than {count.rule.burst} failed authentications with API keys starting {count.subject} "
                f"within {window}. If this is your key, check that you send all of it; retry in {retry_after} s."
            )
        if count.rule is self.calendar_failures:
            return "too-many-unknown-calendar-urls", (
                f"More than {count.rule.burst} calendar URLs from your address ({count.subject}) found no feed "
                f"within {window}. Remove revoked subscriptions from your calendar app; retry in {retry_after} s."
            )
        return "rate-limited", f"Too many requests from this caller; retry in {retry_after} s."


BODY_TOO_LARGE = N_("The request body is larger than {limit} bytes.")


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
                await self._shutting_down(send_with_id, request_language(Headers(scope=scope)))
                return
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
                await self._too_large(send, request_id, scope["path"], request_language(Headers(scope=scope)))
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

    async def _shutting_down(self, send: Send, language: str) -> None:
        retry_after = get_settings().retry_after_seconds
        response = problem_response(
            503,
            "shutting-down",
            N_("This server is shutting down; nothing was changed. Retry in {seconds} s."),
            values={"seconds": retry_after},
            language=language,
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

    async def _too_large(self, send: Send, request_id: str, path: str, language: str) -> None:
        response = problem_response(
            413,
            "payload-too-large",
            BODY_TOO_LARGE,
            values={"limit": self.max_body_bytes},
            language=language,
            headers={"X-Request-ID": request_id},
            instance=path,
        )
        await response({"type": "http"}, _no_receive, send)


class _BodyTooLarge(HTTPException):
    """Raised while the body streams in; FastAPI passes HTTP exceptions through its body
    parsing, so it reaches the problem handler as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, BODY_TOO_LARGE.format(limit=limit))
        self.limit = limit  # the problem handler says it in the caller's language


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _clean_request_id(raw: bytes | None) -> str:
    if raw and 0 < len(raw) <= 100 and all(chr(c).isalnum() or chr(c) in "-_." for c in raw):
        return raw.decode()
    return uuid.uuid4().hex
