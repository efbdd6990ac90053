"""What an operator asks of a running registry: the delivery backlog and the last sweep."""

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.clock import clock
from services.leases import backlog
from services.mail.models import EmailDelivery
from services.scheduling.repository import last_sweep
from services.webhooks.models import WebhookDelivery


def _age(since: datetime | None, now: datetime) -> float | None:
    return round((now - since).total_seconds(), 1) if since is not None else None


async def operational_status(conn: AsyncConnection) -> dict[str, Any]:
    """How many deliveries are due and how long the oldest has waited, per kind; and who
    swept last, when. A growing ``oldest_due_seconds`` means the workers fall behind."""
    now = clock.now()
    deliveries: dict[str, Any] = {}
    for name, model in (("webhook", WebhookDelivery), ("email", EmailDelivery)):
        due, oldest = await backlog(conn, model, now=now)
        deliveries[name] = {"due": due, "oldest_due_seconds": _age(oldest, now)}
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
