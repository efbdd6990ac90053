"""Rules for champion countries and pledges (docs/DOMAIN.md, "Champion countries and pledges").

A pledge is announced, then in progress, and ends fulfilled or withdrawn (announced may go
straight to either); the two ends are final. Each change is dated, no later than today and
no earlier than the previous one. An open pledge (announced or in progress) is followed up:
``pledge.due_soon`` when its due date comes within one of the configured offsets
(PLEDGE_REMINDER_OFFSETS_DAYS, each offset once per due date), ``pledge.overdue`` once its
due date has passed (once per due date); both are mailed."""

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.policy import require_admin
from services.clock import clock
from services.commitments import repository
from services.commitments.models import ChampionCountry, Pledge, PledgeStatus
from services.commitments.schemas import ChampionCountryCreate, ChampionCountryEnd, PledgeCreate, PledgeStatusChange
from services.entities.models import Entity
from services.errors import Conflict, InvalidInput, NotFound
from services.events.service import EventFields, append_events
from services.networks.models import Network
from services.principals import SYSTEM, Principal
from services.records import check_version, loaded_change, record_change
from services.reference.countries import country_label

PLEDGE_TRANSITIONS: dict[PledgeStatus, frozenset[PledgeStatus]] = {
    PledgeStatus.ANNOUNCED: frozenset({PledgeStatus.IN_PROGRESS, PledgeStatus.FULFILLED, PledgeStatus.WITHDRAWN}),
    PledgeStatus.IN_PROGRESS: frozenset({PledgeStatus.FULFILLED, PledgeStatus.WITHDRAWN}),
    PledgeStatus.FULFILLED: frozenset(),
    PledgeStatus.WITHDRAWN: frozenset(),
}


async def _require_network(session: AsyncSession, network_id: uuid.UUID) -> None:
    if await session.get(Network, network_id) is None:
        raise InvalidInput("reference-not-found", f"network_id {network_id} is not a network of the registry.")


async def add_champion_country(
    session: AsyncSession,
    *,
    network_id: uuid.UUID,
    data: ChampionCountryCreate,
    actor: Principal,
    is_demo: bool = False,
) -> dict[str, Any]:
    """A member state champions the network from ``start_date`` (to ``end_date``, if
    given); one country's periods in a network never overlap."""
    require_admin(actor, "record champion countries")
    if await session.get(Network, network_id, with_for_update=True) is None:
        raise NotFound("network-not-found", f"No network has id {network_id}.")
    overlap = await repository.overlapping_champion(
        session,
        network_id=network_id,
        country_code=data.country_code,
        start_date=data.start_date,
        end_date=data.end_date,
    )
    if overlap is not None:
        until = f"until {overlap.end_date}" if overlap.end_date else "with no end"
        raise Conflict(
            "champion-period-overlaps",
            f"{country_label(data.country_code)} already champions this network from {overlap.start_date} {until}; "
            "give a period that does not overlap it.",
        )
    champion = ChampionCountry(network_id=network_id, **data.model_dump(), is_demo=is_demo)
    session.add(champion)
    await session.flush()
    return await record_change(
        session,
        event="created",
        subject_type="champion_country",
        subject_id=champion.id,
        network_id=network_id,
        load_row=repository.get_champion_row,
        actor=actor,
    )


async def end_champion_country(
    session: AsyncSession,
    *,
    network_id: uuid.UUID,
    champion_id: uuid.UUID,
    data: ChampionCountryEnd,
    expected_version: int | None,
    actor: Principal,
) -> dict[str, Any]:
    """A champion country's period ends on ``data.end_date`` (its last day)."""
    require_admin(actor, "record champion countries")
    champion = await session.get(ChampionCountry, champion_id, with_for_update=True)
    if champion is None or champion.network_id != network_id:
        raise NotFound("champion-country-not-found", f"Network {network_id} has no champion country {champion_id}.")
    check_version("champion country", champion.version, expected_version)
    if champion.end_date is not None:
        raise Conflict(
            "champion-already-ended",
            f"{country_label(champion.country_code)} stopped championing this network on {champion.end_date}; "
            "record a new period to have it champion the network again.",
        )
    if data.end_date < champion.start_date:
        raise InvalidInput(
            "end-before-start",
            f"end_date ({data.end_date}) is before the champion's start ({champion.start_date}).",
            fields=["end_date"],
        )
    champion.end_date = data.end_date
    return await record_change(
        session,
        event="ended",
        subject_type="champion_country",
        subject_id=champion.id,
        network_id=network_id,
        load_row=repository.get_champion_row,
        actor=actor,
        changes={"end_date": (None, data.end_date)},
    )


async def create_pledge(
    session: AsyncSession, *, data: PledgeCreate, actor: Principal, is_demo: bool = False
) -> dict[str, Any]:
    """Record a pledge, announced today, by a member state or another stakeholder."""
    require_admin(actor, "record pledges")
    await _require_network(session, data.network_id)
    if data.pledger_entity_id is not None and await session.get(Entity, data.pledger_entity_id) is None:
        raise InvalidInput(
            "reference-not-found", f"pledger_entity_id {data.pledger_entity_id} is not an entity of the registry."
        )
    pledge = Pledge(**data.model_dump(), status_changed_on=clock.today(), is_demo=is_demo)
    session.add(pledge)
    await session.flush()
    return await _record(session, "created", pledge, actor)


async def _record(
    session: AsyncSession, event: str, pledge: Pledge, actor: Principal, **details: Any
) -> dict[str, Any]:
    return await record_change(
        session,
        event=event,
        subject_type="pledge",
        subject_id=pledge.id,
        network_id=pledge.network_id,
        load_row=repository.get_pledge_row,
        actor=actor,
        **details,
    )


async def change_pledge_status(
    session: AsyncSession, *, pledge_id: uuid.UUID, data: PledgeStatusChange, actor: Principal
) -> dict[str, Any]:
    """Move the pledge to ``data.status`` on ``data.changed_on`` (default today)."""
    require_admin(actor, "follow up pledges")
    pledge = await session.get(Pledge, pledge_id, with_for_update=True)
    if pledge is None:
        raise NotFound("pledge-not-found", f"No pledge has id {pledge_id}.")
    allowed = PLEDGE_TRANSITIONS[pledge.status]
    if data.status not in allowed:
        then = f"it may become {', '.join(sorted(allowed))}" if allowed else "it no longer changes"
        raise Conflict("invalid-transition", f"The pledge is {pledge.status.value}; {then}.")
    changed_on = data.changed_on or clock.today()
    if changed_on > clock.today():
        raise InvalidInput("status-in-future", f"A status is recorded once reached; {changed_on} is after today.")
    if changed_on < pledge.status_changed_on:
        raise InvalidInput(
            "status-before-previous",
            f"The pledge's status last changed on {pledge.status_changed_on}; date this change on or after it.",
        )
    changes = {
        "status": (pledge.status.value, data.status.value),
        "status_changed_on": (pledge.status_changed_on, changed_on),
    }
    pledge.status, pledge.status_changed_on = data.status, changed_on
    return await _record(session, "status_changed", pledge, actor, changes=changes)


def _follow_up(pledge: Pledge, *, today: date, offsets: list[int]) -> tuple[str, dict[str, tuple[Any, Any]]] | None:
    """The event an open pledge calls for today, and the fields that mark it raised; None
    when it calls for none."""
    if pledge.due_date < today:
        if pledge.overdue_reported_for == pledge.due_date:
            return None
        return "overdue", {"overdue_reported_for": (pledge.overdue_reported_for, pledge.due_date)}
    days_left = (pledge.due_date - today).days
    reminded = pledge.reminded_offsets if pledge.reminded_for == pledge.due_date else []
    reached = sorted({offset for offset in offsets if days_left <= offset} | set(reminded), reverse=True)
    if reached == sorted(reminded, reverse=True):
        return None
    return "due_soon", {
        "reminded_for": (pledge.reminded_for, pledge.due_date),
        "reminded_offsets": (pledge.reminded_offsets, reached),
    }


async def follow_up_pledges(session: AsyncSession, *, today: date, offsets: list[int]) -> dict[str, int]:
    """Reminders for open pledges falling due within an offset (days) of ``today``, and
    ``pledge.overdue`` for those past due; each once per due date (a reminder once per
    offset). Returns how many of each."""
    horizon = today + timedelta(days=max(offsets, default=0))
    due = await repository.open_pledges_due_by(session, horizon=horizon)
    raised: list[tuple[Pledge, str, dict[str, tuple[Any, Any]]]] = []
    for pledge in due:
        follow_up = _follow_up(pledge, today=today, offsets=offsets)
        if follow_up is None:
            continue
        event, changes = follow_up
        for field, (_, after) in changes.items():
            setattr(pledge, field, after)
        raised.append((pledge, event, changes))
    if not raised:
        return {"due_soon": 0, "overdue": 0}
    await session.flush()
    rows = await repository.get_pledge_rows(session, [pledge.id for pledge, _, _ in raised])
    events: list[EventFields] = [
        loaded_change(
            event=event,
            subject_type="pledge",
            subject_id=pledge.id,
            row=rows[pledge.id],
            actor=SYSTEM,
            network_id=pledge.network_id,
            changes=changes,
        )
        for pledge, event, changes in raised
    ]
    await append_events(session, events)
    return {kind: sum(1 for _, event, _ in raised if event == kind) for kind in ("due_soon", "overdue")}
