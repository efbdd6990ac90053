"""MoUs (docs/DOMAIN.md): parties, areas, lifecycle actions, refresh chains, dates the scheduler acts on."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from services.clock import clock
from services.entities.models import EntityKind
from services.errors import Conflict, InvalidInput
from services.events.models import Event
from services.mous.models import Mou, MouStatus
from services.mous.schemas import AreaIn, MouCreate, MouSign
from services.mous.service import apply_due_transition, create_mou, sign_mou
from services.principals import SYSTEM
from tests.factories import make_entity, make_network
from tests.mou_helpers import make_mou
from tests.stub_worker import drain


@pytest.fixture
async def parties(session):
    network = await make_network(session)
    iom = await make_entity(session, acronym="M-IOM")
    unhcr = await make_entity(session, acronym="M-UNHCR")
    ilo = await make_entity(session, acronym="M-ILO")
    return network, iom, unhcr, ilo


def body(network, parties, **extra):
    return {
        "network_id": str(network["id"]),
        "title": "Protection at sea",
        "reference_number": extra.pop("reference_number", "MOU/2024/1"),
        "party_entity_ids": [str(p["id"]) for p in parties],
        "effective_date": "2024-01-01",
        "areas": [
            {
                "description": "Search and rescue coordination",
                "gcm_objectives": [8],
                "lead_entity_id": str(parties[0]["id"]),
            }
        ],
    } | extra


async def test_a_mou_is_between_two_or_more_un_system_parties(client, session, parties):
    network, iom, unhcr, _ = parties
    ngo = await make_entity(session, acronym="M-NGO", kind=EntityKind.CIVIL_SOCIETY)
    assert (await client.post("/v1/mous", json=body(network, [iom]))).status_code == 422
    assert (await client.post("/v1/mous", json=body(network, [iom, ngo]))).json()[
        "type"
    ] == "/problems/party-not-un-system"
    created = await client.post(
        "/v1/mous",
        json=body(
            network,
            [iom, unhcr],
            documents=[{"uri": "https://docs.example/mou.pdf", "title": "Signed text", "sha256": "a" * 64}],
        ),
    )
    assert created.status_code == 201, created.text
    mou = created.json()
    assert mou["status"] == "draft"
    assert mou["review_due_date"] == "2027-01-01"  # effective date + MOU_REVIEW_YEARS
    assert [p["entity"]["acronym"] for p in mou["parties"]] == ["M-IOM", "M-UNHCR"]
    assert mou["areas"][0]["lead"]["acronym"] == "M-IOM" and mou["areas"][0]["gcm_objectives"] == [8]
    assert mou["documents"][0]["sha256"] == "a" * 64
    assert (await client.post("/v1/mous", json=body(network, [iom, unhcr]))).json()[
        "type"
    ] == "/problems/reference-number-taken"
    with pytest.raises(Conflict):
        await create_mou(
            session,
            data=MouCreate(
                network_id=network["id"], title="T", reference_number="X/1", party_entity_ids=[iom["id"], ngo["id"]]
            ),
            actor=SYSTEM,
        )


async def test_every_lead_and_supporter_is_a_party(client, session, parties):
    network, iom, unhcr, ilo = parties
    stranger_lead = body(
        network, [iom, unhcr], areas=[{"description": "D", "gcm_objectives": [6], "lead_entity_id": str(ilo["id"])}]
    )
    assert (await client.post("/v1/mous", json=stranger_lead)).json()["type"] == "/problems/area-party-not-a-party"
    stranger_support = body(
        network,
        [iom, unhcr],
        areas=[
            {
                "description": "D",
                "gcm_objectives": [6],
                "lead_entity_id": str(iom["id"]),
                "supporting_entity_ids": [str(ilo["id"])],
            }
        ],
    )
    assert (await client.post("/v1/mous", json=stranger_support)).json()["type"] == "/problems/area-party-not-a-party"
    with pytest.raises(InvalidInput):
        await create_mou(
            session,
            data=MouCreate(
                network_id=network["id"],
                title="T",
                reference_number="X/2",
                party_entity_ids=[iom["id"], unhcr["id"]],
                areas=[AreaIn(description="D", gcm_objectives=[6], lead_entity_id=ilo["id"])],
            ),
            actor=SYSTEM,
        )


async def test_the_database_keeps_leads_among_the_parties(session, parties):
    network, iom, unhcr, ilo = parties
    mou = await make_mou(session, network_id=network["id"], parties=[iom["id"], unhcr["id"]])
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await session.execute(
                text(
                    "INSERT INTO mou_areas (id, mou_id, position, description, lead_entity_id) VALUES (gen_random_uuid(), :m, 9, 'x', :e)"
                ),
                {"m": mou["id"], "e": ilo["id"]},
            )


async def test_submit_sign_and_activate(client, session, parties, make_client):
    network, iom, unhcr, _ = parties
    incomplete = (
        await client.post("/v1/mous", json=body(network, [iom, unhcr], areas=[], reference_number="MOU/A"))
    ).json()
    assert (await client.post(f"/v1/mous/{incomplete['id']}/submit")).json()["type"] == "/problems/mou-incomplete"
    mou = (await client.post("/v1/mous", json=body(network, [iom, unhcr]))).json()
    sign_iom = {
        "entity_id": str(iom["id"]),
        "signatory_name": "A. Vitorino",
        "signatory_title": "Director General",
        "signed_on": "2023-12-01",
    }
    assert (await client.post(f"/v1/mous/{mou['id']}/sign", json=sign_iom)).json()[
        "type"
    ] == "/problems/invalid-transition"
    assert (await client.post(f"/v1/mous/{mou['id']}/submit")).json()["status"] == "negotiation"
    focal_unhcr = await make_client("focal_point", entity_id=unhcr["id"])
    assert (
        await focal_unhcr.post(f"/v1/mous/{mou['id']}/sign", json=sign_iom)
    ).status_code == 403  # not for another entity
    first = await client.post(f"/v1/mous/{mou['id']}/sign", json=sign_iom)
    assert first.status_code == 200 and first.json()["status"] == "negotiation"
    assert (await client.post(f"/v1/mous/{mou['id']}/sign", json=sign_iom)).json()["type"] == "/problems/already-signed"
    sign_unhcr = {
        "entity_id": str(unhcr["id"]),
        "signatory_name": "F. Grandi",
        "signatory_title": "High Commissioner",
        "signed_on": "2023-12-05",
    }
    last = await focal_unhcr.post(f"/v1/mous/{mou['id']}/sign", json=sign_unhcr)
    assert last.status_code == 200, last.text
    signed = last.json()
    assert signed["status"] == "active"  # effective 2024-01-01 has come
    assert signed["signed_on"] == "2023-12-05"
    assert {p["signatory_name"] for p in signed["parties"]} == {"A. Vitorino", "F. Grandi"}
    etag = (await client.get(f"/v1/mous/{mou['id']}")).headers["etag"]
    frozen = await client.patch(f"/v1/mous/{mou['id']}", json={"title": "New"}, headers={"If-Match": etag})
    assert frozen.json()["type"] == "/problems/mou-not-editable"


async def test_a_signature_on_a_future_date_or_by_a_stranger_is_refused(client, session, parties):
    network, iom, unhcr, ilo = parties
    mou = await make_mou(session, network_id=network["id"], parties=[iom["id"], unhcr["id"]], state="negotiation")
    future = {"entity_id": str(iom["id"]), "signatory_name": "N", "signatory_title": "T", "signed_on": "2999-01-01"}
    assert (await client.post(f"/v1/mous/{mou['id']}/sign", json=future)).json()[
        "type"
    ] == "/problems/signature-in-the-future"
    stranger = {"entity_id": str(ilo["id"]), "signatory_name": "N", "signatory_title": "T", "signed_on": "2024-01-01"}
    assert (await client.post(f"/v1/mous/{mou['id']}/sign", json=stranger)).json()["type"] == "/problems/not-a-party"


async def test_changing_the_text_under_negotiation_clears_signatures(client, session, parties):
    network, iom, unhcr, _ = parties
    mou = await make_mou(session, network_id=network["id"], parties=[iom["id"], unhcr["id"]], state="negotiation")
    await sign_mou(
        session,
        mou_id=mou["id"],
        data=MouSign(entity_id=iom["id"], signatory_name="N", signatory_title="T", signed_on=date(2024, 1, 2)),
        expected_version=None,
        actor=SYSTEM,
    )
    await session.flush()
    etag = (await client.get(f"/v1/mous/{mou['id']}")).headers["etag"]
    changed = await client.patch(f"/v1/mous/{mou['id']}", json={"title": "Revised text"}, headers={"If-Match": etag})
    assert changed.status_code == 200
    assert all(p["signed_on"] is None for p in changed.json()["parties"])


async def test_signed_with_a_future_effective_date_the_scheduler_activates_it(session, parties):
    network, iom, unhcr, _ = parties
    mou = await make_mou(
        session,
        network_id=network["id"],
        parties=[iom["id"], unhcr["id"]],
        state="signed",
        effective_date=date(2030, 1, 1),
        end_date=date(2032, 12, 31),
    )
    assert mou["status"] == MouStatus.SIGNED
    assert await apply_due_transition(session, mou_id=mou["id"], actor=SYSTEM) is None  # not yet
    clock.freeze(datetime(2030, 1, 1, 0, 5, tzinfo=UTC))
    assert await apply_due_transition(session, mou_id=mou["id"], actor=SYSTEM) == "activated"
    assert await apply_due_transition(session, mou_id=mou["id"], actor=SYSTEM) is None  # idempotent
    clock.freeze(datetime(2033, 1, 1, tzinfo=UTC))
    assert await apply_due_transition(session, mou_id=mou["id"], actor=SYSTEM) == "expired"
    await session.flush()
    types = (
        await session.scalars(select(Event.type).where(Event.subject_id == mou["id"]).order_by(Event.position))
    ).all()
    assert types[-2:] == ["mou.activated", "mou.expired"]


async def test_refresh_draws_up_a_successor_that_supersedes_on_activation(client, session, parties):
    network, iom, unhcr, _ = parties
    old = await make_mou(
        session,
        network_id=network["id"],
        parties=[iom["id"], unhcr["id"]],
        state="signed",
        objectives=(8, 9),
        reference="MOU/OLD",
    )
    assert old["status"] == MouStatus.ACTIVE
    refreshed = await client.post(
        f"/v1/mous/{old['id']}/refresh", json={"reference_number": "MOU/NEW", "effective_date": "2025-01-01"}
    )
    assert refreshed.status_code == 201, refreshed.text
    new = refreshed.json()
    assert new["status"] == "draft" and new["predecessor_id"] == str(old["id"])
    assert [a["gcm_objectives"] for a in new["areas"]] == [[8, 9]]
    assert all(p["signed_on"] is None for p in new["parties"])
    assert (await client.get(f"/v1/mous/{old['id']}")).json()["successor_id"] == new["id"]
    again = await client.post(f"/v1/mous/{old['id']}/refresh", json={"reference_number": "MOU/NEWER"})
    assert again.json()["type"] == "/problems/refresh-exists"
    assert (await client.post(f"/v1/mous/{new['id']}/submit")).status_code == 200
    for party, name in ((iom, "N1"), (unhcr, "N2")):
        signed = await client.post(
            f"/v1/mous/{new['id']}/sign",
            json={
                "entity_id": str(party["id"]),
                "signatory_name": name,
                "signatory_title": "T",
                "signed_on": "2024-12-01",
            },
        )
    assert signed.json()["status"] == "active"
    superseded = (await client.get(f"/v1/mous/{old['id']}")).json()
    assert superseded["status"] == "superseded"
    history = (await client.get(f"/v1/mous/{new['id']}/history")).json()
    assert set(history["mou_ids"]) == {str(old["id"]), new["id"]}
    types = [e["type"] for e in history["items"]]
    assert types.index("mou.refreshed") < types.index("mou.superseded")
    assert {"mou.created", "mou.submitted", "mou.party_signed", "mou.signed"} <= set(types)


async def test_terminate_needs_a_reason_and_ends_the_lifecycle(client, session, parties):
    network, iom, unhcr, _ = parties
    mou = await make_mou(session, network_id=network["id"], parties=[iom["id"], unhcr["id"]], state="signed")
    assert (
        await client.post(f"/v1/mous/{mou['id']}/terminate", json={"terminated_on": "2025-06-30"})
    ).status_code == 422
    done = await client.post(
        f"/v1/mous/{mou['id']}/terminate", json={"terminated_on": "2025-06-30", "reason": "Mandates merged."}
    )
    assert done.json()["status"] == "terminated"
    assert (
        await client.post(f"/v1/mous/{mou['id']}/terminate", json={"terminated_on": "2025-07-01", "reason": "Again."})
    ).status_code == 409
    assert (await client.post(f"/v1/mous/{mou['id']}/refresh", json={"reference_number": "R/1"})).status_code == 409


async def test_filters(client, session, parties):
    network, iom, unhcr, ilo = parties
    await make_mou(session, network_id=network["id"], parties=[iom["id"], unhcr["id"]], objectives=(4,))
    await make_mou(session, network_id=network["id"], parties=[ilo["id"], unhcr["id"]], objectives=(6,), state="signed")
    assert len((await client.get("/v1/mous", params={"party_entity_id": str(unhcr["id"])})).json()["items"]) == 2
    assert len((await client.get("/v1/mous", params={"party_entity_id": str(ilo["id"])})).json()["items"]) == 1
    assert [
        m["areas"][0]["gcm_objectives"] for m in (await client.get("/v1/mous", params={"objective": 4})).json()["items"]
    ] == [[4]]
    assert len((await client.get("/v1/mous", params={"status": "active"})).json()["items"]) == 1
    assert len((await client.get("/v1/mous", params={"review_due_before": "2023-01-01"})).json()["items"]) == 2


async def test_the_scheduler_sweep_hands_due_mous_to_the_workers(committed):
    from services.database import get_database
    from tests.stub_worker import broker
    from worker import scheduler

    database = get_database()
    async with database.session() as session:
        network = await make_network(session)
        a = await make_entity(session, acronym="SW-A")
        b = await make_entity(session, acronym="SW-B")
        mou = await make_mou(
            session,
            network_id=network["id"],
            parties=[a["id"], b["id"]],
            state="signed",
            effective_date=date(2031, 1, 1),
        )
    broker.flush_all()
    await scheduler.sweep_due_mous()
    assert "default" not in broker.queues or not broker.queues["default"].qsize()
    clock.freeze(datetime(2031, 1, 2, tzinfo=UTC))
    await scheduler.sweep_due_mous()
    assert broker.queues["default"].qsize() == 1
    await drain()
    async with database.read() as conn:
        assert await conn.scalar(select(Mou.status).where(Mou.id == mou["id"])) == MouStatus.ACTIVE


async def test_the_review_due_date_drives_one_reminder_to_the_parties(session, parties):
    from services.mail.compose import compose, recipients_for
    from services.mous.service import remind_due_reviews

    network, iom, unhcr, _ = parties
    from services.entities.models import Entity

    await session.execute(
        Entity.__table__.update().where(Entity.id == iom["id"]).values(contact_email="mou@iom.example")
    )
    active = await make_mou(
        session,
        network_id=network["id"],
        parties=[iom["id"], unhcr["id"]],
        state="signed",
        effective_date=date(2021, 1, 1),
    )
    await make_mou(
        session, network_id=network["id"], parties=[iom["id"], unhcr["id"]], effective_date=date(2021, 1, 1)
    )  # a draft: no review
    assert active["review_due_date"] == date(2024, 1, 1)
    assert await remind_due_reviews(session, today=date(2023, 9, 1)) == 0  # four months ahead: not yet
    assert await remind_due_reviews(session, today=date(2023, 11, 15)) == 1
    assert await remind_due_reviews(session, today=date(2023, 12, 1)) == 0  # once per review date
    await session.flush()
    event = await session.scalar(select(Event).where(Event.subject_id == active["id"], Event.type == "mou.review_due"))
    assert [r for r, _ in await recipients_for(session, event)] == ["mou@iom.example"]
    message = compose(event, "mou@iom.example", "reminder", record_base_url="http://registry.test")
    assert message["Subject"].startswith("Review due 1 January 2024")
