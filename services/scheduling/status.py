"""What an operator asks of a running registry: the delivery backlog and the last sweep
(``/readyz``), and for ``registry status`` the outbox, failing endpoints and every sweep."""

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.clock import clock
from services.delivery.leases import queue_states
from services.events.models import Event
from services.mail.models import EmailDelivery
from services.scheduling.repository import last_sweep, sweep_runs
from services.webhooks.models import WebhookDelivery, WebhookEndpoint


def _age(since: datetime | None, now: datetime) -> float | None:
    return round((now - since).total_seconds(), 1) if since is not None else None


async def operational_status(conn: AsyncConnection) -> dict[str, Any]:
    """Where each transport's deliveries stand (pending, held by a worker, waiting for a
    retry; how many are due and how long the oldest has waited); and who swept last, when. A
    growing ``oldest_due_seconds`` means the workers fall behind."""
    now = clock.now()
    deliveries: dict[str, Any] = {}
    for name, model in (("webhook", WebhookDelivery), ("email", EmailDelivery)):
        deliveries[name] = await queue_states(conn, model, now=now)
    sweep = await last_sweep(conn)
    scheduler = (
        {
            "scheduler_id": sweep["scheduler_id"],
            "last_sweep_at": sweep["started_at"].isoformat(),
            "seconds_since_last_sweep": _age(sweep["started_at"], now),
        }
        if sweep is not None
        else None
    )
    return {"deliveries": deliveries, "scheduler": scheduler}


async def operator_status(conn: AsyncConnection) -> dict[str, Any]:
    """What ``registry status`` prints besides its checks: the migration the database is at,
    the outbox (events not yet relayed), the delivery backlog, the endpoints that fail or were
    disabled, the scheduler's last sweep and each named sweep's last run."""
    now = clock.now()
    revision = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    outbox = (
        await conn.execute(select(func.count(), func.min(Event.occurred_at)).where(Event.published_at.is_(None)))
    ).one()
    endpoints = await conn.execute(
        select(
            WebhookEndpoint.id,
            WebhookEndpoint.url,
            WebhookEndpoint.enabled,
            WebhookEndpoint.failing_since,
            WebhookEndpoint.disabled_reason,
        )
        .where(or_(WebhookEndpoint.failing_since.is_not(None), WebhookEndpoint.enabled.is_(False)))
        .order_by(WebhookEndpoint.failing_since.nulls_last(), WebhookEndpoint.id)
        .limit(100)
    )
    sweeps = [{**run, "seconds_since": _age(run["last_run_at"], now)} for run in await sweep_runs(conn)]
    return {
        "migration": revision,
        "outbox": {"pending_events": int(outbox[0]), "oldest_pending_seconds": _age(outbox[1], now)},
        **await operational_status(conn),
        "failing_endpoints": [dict(row) for row in endpoints.mappings()],
        "sweeps": sweeps,
    }
