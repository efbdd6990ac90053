"""Erasing a person: their record and the events about them (people), and the addresses mail
was sent to them at (mail)."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.mail.recipients import forget_recipient
from services.people import service as people
from services.principals import Principal


async def erase_person(session: AsyncSession, *, person_id: uuid.UUID, actor: Principal) -> dict[str, Any]:
    """Erase a person at their request (the secretariat): name and e-mail address gone from the
    person and their events, and the e-mail deliveries addressed to them name the pseudonym
    ``person:<id>`` instead (those not yet sent fail). All in the caller's unit of work, so a
    refusal (an unknown or already erased person) changes nothing. Returns the person's row."""
    address = await people.address_to_erase(session, person_id)
    row = await people.erase_person(session, person_id=person_id, actor=actor)
    if address:
        await forget_recipient(session, address, pseudonym=f"person:{person_id}")
    return row
