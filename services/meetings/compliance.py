"""The annual rule: the extended membership meets at least once a year, together with other
stakeholders. When did it last, is the next one in time, and is the network overdue?"""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import add_months
from services.entities.models import Entity
from services.errors import NotFound
from services.events.service import append_event
from services.meetings.models import Meeting, MeetingInvitee, MeetingKind, MeetingLapse, MeetingStatus
from services.networks.models import Network
from services.principals import SYSTEM

AT_RISK_WITHIN_DAYS = 90


def _with_stakeholders() -> Any:
    """A held meeting where someone other than the UN system took part."""
    return exists().where(
        MeetingInvitee.meeting_id == Meeting.id,
        or_(
            and_(
                MeetingInvitee.entity_id.is_(None),
                or_(MeetingInvitee.attended.is_(None), MeetingInvitee.attended.is_(True)),
            ),
            and_(
                MeetingInvitee.attended.is_(True),
                exists().where(Entity.id == MeetingInvitee.entity_id, Entity.un_system.is_(False)),
            ),
        ),
    )


async def meeting_compliance(
    conn: AsyncConnection | AsyncSession, network_id: uuid.UUID, *, today: date
) -> dict[str, Any]:
    established_on = await conn.scalar(select(Network.established_on).where(Network.id == network_id))
    if established_on is None:
        raise NotFound("network-not-found", f"No network has id {network_id}.")
    extended = (Meeting.network_id == network_id) & (Meeting.kind == MeetingKind.EXTENDED_MEMBERSHIP)
    last = (
        await conn.execute(
            select(Meeting.id, Meeting.starts_at)
            .where(extended, Meeting.status == MeetingStatus.HELD, _with_stakeholders())
            .where(func.date(Meeting.starts_at) <= today)
            .order_by(Meeting.starts_at.desc())
            .limit(1)
        )
    ).first()
    last_met_on = last.starts_at.date() if last else None
    due_by = add_months(last_met_on or established_on, 12)
    after = last.starts_at if last else func.to_timestamp(0)
    upcoming = (
        await conn.execute(
            select(Meeting.id, Meeting.starts_at)
            .where(extended, Meeting.status == MeetingStatus.SCHEDULED, Meeting.starts_at > after)
            .order_by(Meeting.starts_at)
            .limit(1)
        )
    ).first()
    next_on = upcoming.starts_at.date() if upcoming else None
    in_time = next_on is not None and next_on <= due_by
    overdue = today > due_by
    at_risk = not overdue and not in_time and (due_by - today).days <= AT_RISK_WITHIN_DAYS
    return {
        "network_id": network_id,
        "last_met_on": last_met_on,
        "last_meeting_id": last.id if last else None,
        "due_by": due_by,
        "next_scheduled_on": next_on,
        "next_meeting_id": upcoming.id if upcoming else None,
        "next_within_12_months": in_time,
        "state": "overdue" if overdue else "at_risk" if at_risk else "ok",
        "overdue": overdue,
        "at_risk": at_risk,
    }


async def alert_overdue_networks(session: AsyncSession, *, today: date) -> int:
    """Alert each network whose annual meeting is not in time: ``network.meeting_at_risk``
    (due within 90 days, nothing scheduled in time) and ``network.meeting_overdue``, each
    once per due date."""
    alerted = 0
    for network_id in (await session.scalars(select(Network.id))).all():
        compliance = await meeting_compliance(session, network_id, today=today)
        if compliance["state"] == "ok":
            continue
        inserted = await session.scalar(
            insert(MeetingLapse)
            .values(network_id=network_id, due_by=compliance["due_by"], state=compliance["state"])
            .on_conflict_do_nothing()
            .returning(MeetingLapse.due_by)
        )
        if inserted is not None:
            await append_event(
                session,
                type=f"network.meeting_{compliance['state']}",
                subject_type="network",
                subject_id=network_id,
                network_id=network_id,
                actor=SYSTEM,
                payload={"compliance": compliance},
                after={"due_by": compliance["due_by"], "state": compliance["state"]},
            )
            alerted += 1
    return alerted
