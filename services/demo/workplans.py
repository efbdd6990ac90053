"""Demo workplans, champion countries and pledges for the demo network."""

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import clock
from services.commitments.models import PledgeStatus
from services.commitments.schemas import ChampionCountryCreate, PledgeCreate, PledgeStatusChange
from services.commitments.service import add_champion_country, change_pledge_status, create_pledge
from services.demo import data
from services.principals import SYSTEM_DEMO
from services.working_groups.models import WorkingGroup
from services.workplans.models import ActivityStatus, Workplan
from services.workplans.schemas import ActivityCreate, ActivityStatusChangeIn, OutputCreate, WorkplanCreate
from services.workplans.service import add_activity, add_output, change_activity_status, create_workplan


async def load_commitments(session: AsyncSession, network_id: uuid.UUID, ids: dict[str, uuid.UUID]) -> None:
    """The network's workplans with activities in each status, champion countries and
    pledges (one overdue); nothing when the network has a workplan already."""
    if await session.scalar(select(Workplan.id).where(Workplan.network_id == network_id).limit(1)) is not None:
        return
    slugs = select(WorkingGroup.slug, WorkingGroup.id).where(WorkingGroup.network_id == network_id)
    groups: dict[str, uuid.UUID] = dict((await session.execute(slugs)).all())
    for title, start, end, activities in data.WORKPLANS:
        workplan = await create_workplan(
            session,
            data=WorkplanCreate(network_id=network_id, title=title, start_date=start, end_date=end),
            actor=SYSTEM_DEMO,
            is_demo=True,
        )
        for name, leads, slug, workstream, objectives, begins, ends, history in activities:
            (first, first_on), *later = history
            row = await add_activity(
                session,
                workplan_id=workplan["id"],
                data=ActivityCreate(
                    title=name,
                    lead_entity_ids=[ids[lead] for lead in leads],
                    working_group_id=groups.get(slug) if slug else None,
                    workstream=workstream,
                    gcm_objectives=list(objectives),
                    start_date=begins,
                    end_date=ends,
                    status=ActivityStatus(first),
                    status_changed_on=first_on,
                ),
                actor=SYSTEM_DEMO,
            )
            for status, on in later:
                await change_activity_status(
                    session,
                    workplan_id=workplan["id"],
                    activity_id=row["id"],
                    data=ActivityStatusChangeIn(status=ActivityStatus(status), changed_on=on),
                    actor=SYSTEM_DEMO,
                )
            if name == data.WORKPLAN_OUTPUT[0]:
                _, output, link, published = data.WORKPLAN_OUTPUT
                await add_output(
                    session,
                    workplan_id=workplan["id"],
                    activity_id=row["id"],
                    data=OutputCreate(title=output, link=link, published_on=published),
                    actor=SYSTEM_DEMO,
                )
    for code, since in data.CHAMPION_COUNTRIES:
        await add_champion_country(
            session,
            network_id=network_id,
            data=ChampionCountryCreate(country_code=code, start_date=since),
            actor=SYSTEM_DEMO,
            is_demo=True,
        )
    for pledger, title, pledged_objectives, due_in, status in data.PLEDGES:
        by_entity = pledger in ids
        pledge = await create_pledge(
            session,
            data=PledgeCreate(
                network_id=network_id,
                pledger_entity_id=ids[pledger] if by_entity else None,
                pledger_country_code=None if by_entity else pledger,
                title=title,
                description="Demo record.",
                gcm_objectives=list(pledged_objectives),
                due_date=clock.today() + timedelta(days=due_in),
            ),
            actor=SYSTEM_DEMO,
            is_demo=True,
        )
        if status != PledgeStatus.ANNOUNCED:
            await change_pledge_status(
                session, pledge_id=pledge["id"], data=PledgeStatusChange(status=PledgeStatus(status)), actor=SYSTEM_DEMO
            )
