import asyncio
from typing import Any
from urllib.parse import urlsplit

from fastapi import Response
from sqlalchemy import text

from api.dispatch import PathRouter
from api.documents import Liveness, Readiness, documented
from api.errors import problem_response
from api.lifecycle import draining
from api.planned import PlannedRoute
from api.responses import json_response
from services.database import get_database, read_only_episode
from services.scheduling.status import operational_status
from services.settings import get_settings
from services.version import registry_version

router = PathRouter(route_class=PlannedRoute, tags=["operations"])

CHECK_SECONDS = 2.0  # a readiness probe answers within this, whatever is down
# Whether the database would refuse a write: a standby (recovery), or read-only by setting
# (default_transaction_read_only, which this autocommit connection's transactions take up).
READ_ONLY_CHECK = text("SELECT pg_is_in_recovery() OR current_setting('transaction_read_only')::boolean")


@router.get("/healthz", responses=documented(Liveness, "The process is up."))
async def liveness() -> Response:
    """The process is up (no dependencies checked), and which version of the registry it runs."""
    return json_response({"status": "ok", "version": registry_version()})


@router.get(
    "/readyz",
    responses={
        **documented(Readiness, "Ready to serve."),
        503: {"description": "Draining, or a dependency is down; `checks` says which."},
    },
)
async def readiness() -> Response:
    """The process can serve: not shutting down, its database answers and accepts writes, its
    broker answers. Also the delivery backlog (due count, age of the oldest) and the
    scheduler's last sweep."""
    checks: dict[str, str] = {"api": "draining" if draining.is_set() else "up"}
    detail: dict[str, object] = {}
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            database = get_database()
            async with database.read() as conn:
                read_only = await conn.scalar(READ_ONLY_CHECK)
                detail = await operational_status(conn)
            await database.ping_writes()
        checks["database"] = "read-only" if read_only else "up"
    except Exception:  # any failure here means "not ready", never a 500
        checks["database"] = "down"
    if checks["database"] == "read-only":
        read_only_episode.met("the readiness check")
    elif checks["database"] == "up":
        read_only_episode.ended()
    checks["broker"] = await _broker_check()
    if any(state != "up" for state in checks.values()):
        down = ", ".join(name for name, state in checks.items() if state != "up")
        retry_after = get_settings().retry_after_seconds
        extra: dict[str, Any] = {"checks": checks, **detail}
        return problem_response(
            503,
            "not-ready",
            f"Not ready: {down}.",
            title="Service unavailable",
            headers={"Retry-After": str(retry_after)},
            **extra,
        )
    return json_response({"status": "ready", "checks": checks, **detail})


async def _broker_check() -> str:
    """The broker's port accepts a connection (the in-memory broker is always up)."""
    url = get_settings().broker_url
    if not url:
        return "up"
    parts = urlsplit(url)
    default_port = 5672 if parts.scheme.startswith("amqp") else 6379
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            _, writer = await asyncio.open_connection(parts.hostname or "localhost", parts.port or default_port)
        writer.close()
        return "up"
    except (OSError, TimeoutError):
        return "down"
