"""The relay's database half: claim pending events, mark them published."""

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import clock
from services.events.models import Event

BATCH_SIZE = 500


async def mark_batch_published(session: AsyncSession, *, limit: int = BATCH_SIZE) -> int:
    """Claim up to ``limit`` unpublished events (skipping rows another relay holds) and
    mark them published; returns how many."""
    claimed = (
        select(Event.position)
        .where(Event.published_at.is_(None))
        .order_by(Event.position)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(update(Event).where(Event.position.in_(claimed)).values(published_at=clock.now()))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def has_pending_events(session: AsyncSession) -> bool:
    """Whether any event waits for the relay."""
    return (await session.scalar(select(Event.position).where(Event.published_at.is_(None)).limit(1))) is not None


async def count_pending(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Event).where(Event.published_at.is_(None))) or 0)
