"""Races between real transactions: the rules hold when requests commit concurrently."""

import asyncio
from datetime import date

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select, text

from services.database import get_database
from services.entities.models import Entity
from services.entities.schemas import EntityCreate
from services.entities.service import create_entity
from services.errors import Conflict
from services.events.models import Event
from services.memberships.models import Membership, MembershipTier
from services.memberships.schemas import MembershipCreate
from services.memberships.service import create_membership
from services.principals import SYSTEM
from tests.conftest import committed_admin_key
from tests.factories import make_entity, make_network
from tests.served_app import served_app


async def second_writer_waits_and_is_refused(first_write, second_write) -> str:
    """``first_write`` runs in a transaction left open while ``second_write`` starts in its own:
    the second must wait for the first to commit, then be refused. Returns the refusal's kind."""
    database = get_database()

    async def second_writer():
        async with database.session() as session:
            await second_write(session)

    async with database.session() as first:
        await first_write(first)
        second = asyncio.create_task(second_writer())
        await asyncio.sleep(0.3)
        assert not second.done(), "the second writer must wait for the first to finish"
    with pytest.raises(Conflict) as refused:
        await second
    return refused.value.kind


async def test_a_concurrent_admission_waits_and_is_refused(committed):
    """Two transactions admit one entity for overlapping dated periods: the second waits on
    the per-pair lock until the first commits, then sees its row and is refused."""
    database = get_database()
    async with database.session() as session:
        network = await make_network(session)
        entity = await make_entity(session, acronym="RACER")

    def admission():
        return MembershipCreate(
            entity_id=entity["id"],
            tier=MembershipTier.EXTENDED,
            start_date=date(2020, 1, 1),
            end_date=date(2020, 12, 31),
        )

    async def admit(session):
        await create_membership(session, network_id=network["id"], data=admission(), actor=SYSTEM)

    assert await second_writer_waits_and_is_refused(admit, admit) == "membership-overlap"
    async with database.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(Membership).where(Membership.entity_id == entity["id"])
        )
    assert count == 1


async def test_a_concurrent_creation_with_a_taken_acronym_waits_and_is_refused(committed):
    """Two transactions create entities with one acronym (in two cases): the second's insert
    waits on the first's until it commits, then is refused as a taken acronym."""
    database = get_database()

    def create(acronym, name):
        return lambda session: create_entity(
            session, data=EntityCreate(acronym=acronym, name=name, kind="un_system"), actor=SYSTEM
        )

    refused = await second_writer_waits_and_is_refused(create("TWIN", "First"), create("twin", "Second"))
    assert refused == "acronym-taken"
    async with database.session() as session:
        assert await session.scalar(select(func.count()).where(func.lower(Entity.acronym) == "twin")) == 1
        assert await session.scalar(select(func.count()).select_from(Event).where(Event.type == "entity.created")) == 1


async def test_concurrent_updates_with_one_etag_update_once(committed):
    database = get_database()
    async with database.session() as session:
        entity = await make_entity(session, acronym="RACE2")
    app = served_app()
    auth = {"Authorization": f"Bearer {await committed_admin_key()}"}
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t", headers=auth) as client:
        etag = (await client.get(f"/v1/entities/{entity['id']}")).headers["etag"]
        responses = await asyncio.gather(
            *(
                client.patch(f"/v1/entities/{entity['id']}", json={"name": f"N{i}"}, headers={"If-Match": etag})
                for i in range(3)
            )
        )
    assert sorted(r.status_code for r in responses) == [200, 412, 412]
    async with database.read() as conn:
        events = await conn.scalar(
            text("SELECT count(*) FROM events WHERE subject_id = :id AND type = 'entity.updated'"), {"id": entity["id"]}
        )
    assert events == 1


async def test_concurrent_idempotent_posts_act_once(committed):
    app = served_app()
    body = {"acronym": "ONCE", "name": "Once", "kind": "un_system"}
    auth = {"Authorization": f"Bearer {await committed_admin_key()}"}
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t", headers=auth) as client:
        responses = await asyncio.gather(
            *(client.post("/v1/entities", json=body, headers={"Idempotency-Key": "same"}) for _ in range(3))
        )
    assert [r.status_code for r in responses] == [201, 201, 201]
    assert len({r.json()["id"] for r in responses}) == 1


async def test_two_admins_revoking_each_others_keys_at_once_leave_one(committed):
    """The last-admin-key rule under a race: both revocations start together; one succeeds,
    the other is refused (409), never a deadlock (500) and never both."""
    from services.api_keys.models import ApiKey
    from services.api_keys.schemas import ApiKeyCreate
    from services.api_keys.service import create_api_key, revoke_api_key

    database = get_database()
    async with database.session() as session:
        await session.execute(text("UPDATE api_keys SET revoked_at = now() WHERE revoked_at IS NULL"))
        keys = [
            (await create_api_key(session, data=ApiKeyCreate(name=f"admin {i}", role="admin"), actor=SYSTEM))[0]
            for i in range(2)
        ]

    async def revoke(key_id):
        async with database.session() as session:
            await revoke_api_key(session, key_id=key_id, actor=SYSTEM)

    results = await asyncio.gather(*(revoke(k["id"]) for k in reversed(keys)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], Conflict) and refused[0].kind == "last-admin-key", results
    async with database.session() as session:
        active = await session.scalar(
            select(func.count()).select_from(ApiKey).where(ApiKey.role == "admin", ApiKey.revoked_at.is_(None))
        )
    assert active == 1
