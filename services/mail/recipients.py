"""Addresses mail was sent to, as people's erasure needs them gone."""

from sqlalchemy import case, func, literal, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.delivery_status import DeliveryStatus
from services.mail.models import EmailAttempt, EmailDelivery

NOT_SENT = "not sent: the recipient was erased"


async def forget_recipient(session: AsyncSession, address: str, *, pseudonym: str) -> int:
    """Every delivery addressed to ``address`` (in any case) names ``pseudonym`` instead, and an
    attempt's error that quoted the address quotes the pseudonym; a delivery not yet sent fails
    (it has no one to go to). Returns how many deliveries were changed."""
    pending = EmailDelivery.status == DeliveryStatus.PENDING
    changed = await session.execute(
        update(EmailDelivery)
        .where(func.lower(EmailDelivery.recipient) == address.lower())
        .values(
            recipient=pseudonym,
            last_error=case((pending, NOT_SENT), else_=func.replace(EmailDelivery.last_error, address, pseudonym)),
            status=case(
                (pending, literal(DeliveryStatus.FAILED, EmailDelivery.status.type)), else_=EmailDelivery.status
            ),
            lease_until=None,
        )
        .returning(EmailDelivery.id)
    )
    ids = list(changed.scalars())
    if ids:
        await session.execute(
            update(EmailAttempt)
            .where(EmailAttempt.delivery_id.in_(ids), EmailAttempt.error.contains(address))
            .values(error=func.replace(EmailAttempt.error, address, pseudonym))
        )
    return len(ids)
