"""Creating e-mail deliveries for events, and sending one: over SMTP, or into .eml files when
no SMTP server is configured (a developer's machine)."""

import asyncio
import logging
import smtplib
import ssl
import uuid
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import clock
from services.database import Database
from services.events.models import Event
from services.ids import uuid7
from services.leases import DeliveryStatus, due_ids, lease
from services.mail.compose import address_book_for, compose, invitation_parties, recipients_for
from services.mail.models import EmailDelivery
from services.networks.models import Network
from services.settings import Settings, get_settings
from services.unit_of_work import unit_of_work

logger = logging.getLogger("services.mail")

RETRY_DELAYS = (60, 300, 1800, 7200)
LEASE_SECONDS = 120.0


async def fan_out(session: AsyncSession, events: list[Event]) -> list[uuid.UUID]:
    """One delivery per (event, recipient), each with an id of its own; returns the new ones.
    ``recipients_for`` names each address once, so a delivery that already exists is a defect
    and raises."""
    address_book = await address_book_for(session, events)  # the batch's addresses, read once
    rows: list[dict[str, Any]] = [
        {
            "id": uuid7(),
            "event_id": event.id,
            "recipient": recipient,
            "kind": kind,
            "request_id": event.request_id,
            "network_id": event.network_id,
        }
        for event in events
        for recipient, kind in await recipients_for(session, event, address_book=address_book)
    ]
    if rows:
        # NULLs rendered, not left out: every row has the same columns, so one statement
        # inserts them all (rows without a network or a request id would split the batch).
        await session.execute(insert(EmailDelivery).execution_options(render_nulls=True), rows)
    return [row["id"] for row in rows]


def _send_smtp(settings: Settings, message: EmailMessage) -> None:
    assert settings.smtp_host is not None
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)


def _write_eml(settings: Settings, delivery_id: uuid.UUID, message: EmailMessage) -> Path:
    folder = settings.data_dir / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{delivery_id}.eml"
    path.write_bytes(bytes(message))
    return path


async def send_email(database: Database, delivery_id: uuid.UUID) -> str | None:
    """Send one due e-mail delivery (leased, so two workers never send it both). Its links
    start at PUBLIC_BASE_URL."""
    settings = get_settings()
    async with unit_of_work(database=database) as session:
        attempts = await lease(session, EmailDelivery, delivery_id, seconds=LEASE_SECONDS)
        if attempts is None:
            return None
        delivery = await session.get(EmailDelivery, delivery_id)
        assert delivery is not None
        # The event with its network's country, for a designation footnote: one statement.
        found = (
            await session.execute(
                select(Event, Network.country_code)
                .outerjoin(Network, Network.id == Event.network_id)
                .where(Event.id == delivery.event_id)
            )
        ).one()
        event, network_country_code = found
        parties = None
        if event.type.startswith("meeting.") and delivery.kind in ("invitation", "cancellation"):
            parties = await invitation_parties(session, event.payload["meeting"], delivery.recipient)
        message = compose(
            event,
            delivery.recipient,
            delivery.kind,
            record_base_url=settings.public_base_url,
            parties=parties,
            network_country_code=network_country_code,
        )
        if event.request_id:  # the request that caused the message, for an operator following it
            message["X-Request-ID"] = event.request_id
    error: str | None = None
    try:
        if settings.smtp_host:
            await asyncio.to_thread(_send_smtp, settings, message)
        else:
            await asyncio.to_thread(_write_eml, settings, delivery_id, message)
    except (OSError, smtplib.SMTPException) as failure:
        error = f"{type(failure).__name__}: {failure}"[:500]
    async with unit_of_work(database=database) as session:
        delivery = await session.get(EmailDelivery, delivery_id, with_for_update=True)
        assert delivery is not None
        delivery.attempts = attempts + 1
        delivery.lease_until = None
        delivery.last_error = error
        if error is None:
            delivery.status = DeliveryStatus.SUCCEEDED
            delivery.sent_at = clock.now()
            return "sent"
        if delivery.attempts > len(RETRY_DELAYS):
            delivery.status = DeliveryStatus.FAILED
            logger.warning("e-mail delivery %s failed for good: %s", delivery_id, error)
            return "failed"
        delivery.next_attempt_at = clock.now() + timedelta(seconds=RETRY_DELAYS[delivery.attempts - 1])
        return "retrying"


async def due_email_ids(conn: AsyncConnection | AsyncSession, *, limit: int = 500) -> list[uuid.UUID]:
    return await due_ids(conn, EmailDelivery, now=clock.now(), limit=limit)
