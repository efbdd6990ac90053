"""The engine's two transports, one instance each, and the shortcuts callers use."""

import uuid

import httpx

from services.database import Database
from services.delivery.engine import send_batch
from services.delivery.transport import Transport
from services.delivery.transports.smtp import SmtpTransport
from services.delivery.transports.webhook import WebhookTransport

WEBHOOK = WebhookTransport()
EMAIL = SmtpTransport()
TRANSPORTS: dict[str, Transport] = {WEBHOOK.name: WEBHOOK, EMAIL.name: EMAIL}


async def send_webhook(
    database: Database, delivery_id: uuid.UUID, *, http: httpx.AsyncClient | None = None
) -> str | None:
    """Attempt one webhook delivery if it is due; its outcome, or None when there was nothing to do."""
    transport = WEBHOOK if http is None else WebhookTransport(http)
    sent = await send_batch(database, transport, [delivery_id])
    return sent[0].outcome if sent else None
