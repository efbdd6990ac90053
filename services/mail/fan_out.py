"""Creating e-mail deliveries for events: one per (event, recipient). Sending them is the
delivery engine's (``services/delivery/``, its SMTP transport)."""

import uuid
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.events.models import Event
from services.ids import uuid7
from services.mail.compose import address_book_for, recipients_for
from services.mail.models import EmailDelivery


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
