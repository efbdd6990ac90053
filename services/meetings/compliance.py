"""The annual rule: the extended membership meets at least once a year, together with other
stakeholders. When did it last, is the next one in time, and is the network overdue?"""

import uuid
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, exists, func, or_, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import add_months
from services.entities.models import Entity
from services.errors import NotFound
from services.events.service import EventFields, append_events
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
    after = last.starts_at if last else func.to_timestamp(0)
    upcoming = (
        await conn.execute(
            select(Meeting.id, Meeting.starts_at)
            .where(extended, Meeting.status == MeetingStatus.SCHEDULED, Meeting.starts_at > after)
            .order_by(Meeting.starts_at)
            .limit(1)
        )
    ).first()
    return _compliance(network_id, established_on, last, upcoming, today=today)


def _compliance(
    network_id: uuid.UUID, established_on: date, last: Any, upcoming: Any, *, today: date
) -> dict[str, Any]:
    """The rule's verdict from a network's last meeting with stakeholders and the next one
    scheduled after it (each an (id, starts_at) row, or None)."""
    last_met_on = last.starts_at.date() if last else None
    due_by = add_months(last_met_on or established_on, 12)
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


async def every_network_compliance(session: AsyncSession, *, today: date) -> list[dict[str, Any]]:
    """``meeting_compliance`` of every network, in network id order, in one statement."""
    extended = (Meeting.network_id == Network.id) & (Meeting.kind == MeetingKind.EXTENDED_MEMBERSHIP)
    last = (
        select(Meeting.id, Meeting.starts_at)
        .where(extended, Meeting.status == MeetingStatus.HELD, _with_stakeholders())
        .where(func.date(Meeting.starts_at) <= today)
        .order_by(Meeting.starts_at.desc())
        .limit(1)
        .lateral("last_meeting")
    )
    upcoming = (
        select(Meeting.id, Meeting.starts_at)
        .where(
            extended,
            Meeting.status == MeetingStatus.SCHEDULED,
            Meeting.starts_at > func.coalesce(last.c.starts_at, func.to_timestamp(0)),
        )
        .order_by(Meeting.starts_at)
        .limit(1)
        .lateral("next_meeting")
    )
    rows = await session.execute(
        select(
            Network.id,
            Network.established_on,
            last.c.id.label("last_id"),
            last.c.starts_at.label("last_starts_at"),
            upcoming.c.id.label("next_id"),
            upcoming.c.starts_at.label("next_starts_at"),
        )
        .select_from(Network)
        .outerjoin(last, true())
        .outerjoin(upcoming, true())
        .order_by(Network.id)
    )
    return [
        _compliance(
            row.id,
            row.established_on,
            _Found(row.last_id, row.last_starts_at) if row.last_id else None,
            _Found(row.next_id, row.next_starts_at) if row.next_id else None,
            today=today,
        )
        for row in rows
    ]


class _Found(NamedTuple):
    id: uuid.UUID
    starts_at: datetime


async def alert_overdue_networks(session: AsyncSession, *, today: date) -> int:
    """Alert each network whose annual meeting is not in time: ``network.meeting_at_risk``
    (due within 90 days, nothing scheduled in time) and ``network.meeting_overdue``, each
    once per due date."""
    lapsed = [c for c in await every_network_compliance(session, today=today) if c["state"] != "ok"]
    if not lapsed:
        return 0
    # One statement for the batch: the lapses not alerted before come back.
    result = await session.execute(
        insert(MeetingLapse)
        .values([{"network_id": c["network_id"], "due_by": c["due_by"], "state": c["state"]} for c in lapsed])
        .on_conflict_do_nothing()
        .returning(MeetingLapse.network_id, MeetingLapse.due_by, MeetingLapse.state)
    )
    inserted = {(network_id, due_by, state) for network_id, due_by, state in result}
    alerts = [
        EventFields(
            type=f"network.meeting_{compliance['state']}",
            subject_type="network",
            subject_id=compliance["network_id"],
            network_id=compliance["network_id"],
            actor=SYSTEM,
            payload={"compliance": compliance},
            after={"due_by": compliance["due_by"], "state": compliance["state"]},
        )
        for compliance in lapsed
        if (compliance["network_id"], compliance["due_by"], compliance["state"]) in inserted
    ]
    await append_events(session, alerts)
    return len(alerts)
