"""One pure ASGI middleware for what operators watch: each request's count and latency by
route template and status (``registry_http_*``), and its access log line (request id,
principal, route, status, duration). Outermost, so refusals at the edge count too."""

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import PRINCIPAL_SCOPE_KEY
from api.route_table import route_template
from services.observability.metrics import HTTP_DURATION, HTTP_REQUESTS

access_log = logging.getLogger("api.access")

QUIET_PATHS = frozenset({"/healthz", "/readyz"})  # probed every few seconds: logged at DEBUG


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


class Observability:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The metrics' children per (method, route, status), looked up once each: ``labels()``
        # costs more than the increment itself. Bounded by routes x methods x statuses.
        self._series: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        response: dict[str, Any] = {"status": 500, "request_id": None}

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["request_id"] = _header(message.get("headers", []), b"x-request-id")
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            seconds = time.perf_counter() - started
            status = str(response["status"])
            route = route_template(scope)
            method = scope["method"]
            key = (method, route, status)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = (HTTP_REQUESTS.labels(*key), HTTP_DURATION.labels(*key))
            series[0].inc()
            series[1].observe(seconds)
            level = logging.DEBUG if scope["path"] in QUIET_PATHS else logging.INFO
            if access_log.isEnabledFor(level):
                principal = scope.get(PRINCIPAL_SCOPE_KEY)
                duration_ms = round(seconds * 1000, 2)
                access_log.log(
                    level,
                    "%s %s %s %.1f ms",
                    method,
                    route,
                    status,
                    duration_ms,
                    extra={
                        "request_id": response["request_id"],
                        "principal": getattr(principal, "id", None),
                        "method": method,
                        "route": route,
                        "status": response["status"],
                        "duration_ms": duration_ms,
                    },
                )
