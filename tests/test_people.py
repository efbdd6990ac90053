"""Focal points as people: who they are, who sees their personal data, where invitations go,
who acted, and erasure on request."""

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from services.audit.models import AuditEntry
from services.clock import clock
from services.database import get_database
from services.meetings.models import MeetingKind
from services.meetings.schemas import InviteeIn, MeetingCreate
from services.meetings.service import create_meeting
from services.people.schemas import FocalPointCreate, FocalPointEnd, PersonCreate
from services.people.service import appoint_focal_point, create_person, end_focal_point
from services.principals import SYSTEM
from tests.factories import make_entity, make_membership, make_network
from tests.test_change_feed import feed_client, head  # noqa: F401 - the fixture
from tests.test_mail import _relay_and_send, smtp  # noqa: F401 - the fixture

PERSON = {"name": "Amina Example", "title": "Migration officer", "email": "amina@iom.example"}


async def _person(session, entity_id, name, email, *, start=date(2025, 1, 1), end=None):
    person = await create_person(session, data=PersonCreate(entity_id=entity_id, name=name, email=email), actor=SYSTEM)
    post = await appoint_focal_point(
        session, person_id=person["id"], data=FocalPointCreate(entity_id=entity_id, start_date=start), actor=SYSTEM
    )
    if end is not None:
        await end_focal_point(
            session,
            person_id=person["id"],
            post_id=post["id"],
            data=FocalPointEnd(end_date=end),
            expected_version=None,
            actor=SYSTEM,
        )
    return person


async def _annual_meeting(session, network_id, entity_ids, starts):
    """The network's annual meeting in Geneva at ``starts``, inviting ``entity_ids``."""
    return await create_meeting(
        session,
        data=MeetingCreate(
            network_id=network_id,
            kind=MeetingKind.EXTENDED_MEMBERSHIP,
            title="Annual meeting",
            starts_at=starts,
            ends_at=starts + timedelta(hours=6),
            time_zone="Europe/Zurich",
            location="Geneva",
            invitees=[InviteeIn(entity_id=entity_id) for entity_id in entity_ids],
        ),
        actor=SYSTEM,
    )


async def test_invitations_go_to_the_current_focal_points_or_the_contact_address(committed, smtp):  # noqa: F811
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    today = clock.today()
    async with get_database().session() as session:
        network = await make_network(session)
        staffed = await make_entity(session, acronym="FP-ONE", contact_email="registry@one.example")
        unstaffed = await make_entity(session, acronym="FP-TWO", contact_email="registry@two.example")
        for entity in (staffed, unstaffed):
            await make_membership(session, network_id=network["id"], entity_id=entity["id"])
        await _person(session, staffed["id"], "Current One", "current.one@one.example")
        await _person(session, staffed["id"], "Current Two", "current.two@one.example")
        last_year = today - timedelta(days=365)
        await _person(
            session, staffed["id"], "Former", "former@one.example", start=last_year - timedelta(days=200), end=last_year
        )
        await _person(session, staffed["id"], "Next Year", "next@one.example", start=today + timedelta(days=365))
        await _annual_meeting(session, network["id"], [staffed["id"], unstaffed["id"]], starts)
    await _relay_and_send()
    assert sorted(m["To"] for m in smtp.messages) == [
        "current.one@one.example",
        "current.two@one.example",
        "registry@two.example",
    ]


async def test_personal_data_is_shown_to_the_secretariat_and_the_persons_entity_only(client, make_client, session):
    own, other = await make_entity(session, acronym="OWN"), await make_entity(session, acronym="OTHER")
    own_fp = await make_client("focal_point", entity_id=own["id"])
    created = await own_fp.post("/v1/people", json={**PERSON, "entity_id": str(own["id"])})
    assert created.status_code == 201, created.text
    person_id = created.json()["id"]
    readers = {
        "admin": client,
        "own focal point": own_fp,
        "other focal point": await make_client("focal_point", entity_id=other["id"]),
        "reader": await make_client("reader"),
        "integrator": await make_client("integrator"),
    }
    for who, reader in readers.items():
        one = (await reader.get(f"/v1/people/{person_id}")).json()
        [listed] = (await reader.get("/v1/people", params={"entity_id": str(own["id"])})).json()["items"]
        shown = who in ("admin", "own focal point")
        for row in (one, listed):
            assert (row["name"], row["email"]) == ((PERSON["name"], PERSON["email"]) if shown else (None, None)), who
            assert row["title"] == PERSON["title"], who
    refused = await readers["other focal point"].post("/v1/people", json={**PERSON, "entity_id": str(own["id"])})
    assert refused.status_code == 403 and refused.json()["type"] == "/problems/not-your-entity"


async def test_a_person_holds_one_post_at_a_time_for_one_subject(client, session):
    entity = await make_entity(session, acronym="OVL")
    person = (await client.post("/v1/people", json={**PERSON, "entity_id": str(entity["id"])})).json()
    posts = f"/v1/people/{person['id']}/posts"
    first = await client.post(posts, json={"entity_id": str(entity["id"]), "start_date": "2025-01-01"})
    assert first.status_code == 201, first.text
    again = await client.post(posts, json={"entity_id": str(entity["id"]), "start_date": "2025-06-01"})
    assert again.status_code == 409 and again.json()["type"] == "/problems/post-overlap"
    other = await make_entity(session, acronym="OVL2")
    foreign = await client.post(posts, json={"entity_id": str(other["id"]), "start_date": "2025-06-01"})
    assert foreign.status_code == 422 and foreign.json()["type"] == "/problems/not-the-persons-entity"
    both = await client.post(
        posts, json={"entity_id": str(entity["id"]), "network_id": str(entity["id"]), "start_date": "2025-06-01"}
    )
    assert both.status_code == 422
    ended = await client.post(f"{posts}/{first.json()['id']}/end", json={"end_date": "2025-05-31"})
    assert ended.status_code == 200, ended.text
    after = await client.post(posts, json={"entity_id": str(entity["id"]), "start_date": "2025-06-01"})
    assert after.status_code == 201, after.text
    current = (await client.get(posts, params={"as_of": "2025-07-01"})).json()["items"]
    assert [p["id"] for p in current] == [after.json()["id"]]


async def test_a_key_issued_to_a_person_names_them_in_the_audit_trail(client, app, session):
    from httpx import ASGITransport, AsyncClient

    entity, other = await make_entity(session, acronym="KEYED"), await make_entity(session, acronym="KEYED2")
    person = (await client.post("/v1/people", json={**PERSON, "entity_id": str(entity["id"])})).json()
    wrong = await client.post(
        "/v1/api-keys",
        json={"name": "wrong", "role": "focal_point", "entity_id": str(other["id"]), "person_id": person["id"]},
    )
    assert wrong.status_code == 422 and wrong.json()["type"] == "/problems/person-not-of-entity"
    issued = await client.post(
        "/v1/api-keys",
        json={"name": "Amina", "role": "focal_point", "entity_id": str(entity["id"]), "person_id": person["id"]},
    )
    assert issued.status_code == 201 and issued.json()["person_id"] == person["id"]
    async with AsyncClient(
        transport=ASGITransport(app=app),
        base_url="http://registry.test",
        headers={"Authorization": f"Bearer {issued.json()['key']}"},
    ) as amina:
        colleague = await amina.post(
            "/v1/people", json={**PERSON, "email": "b@iom.example", "entity_id": str(entity["id"])}
        )
    assert colleague.status_code == 201, colleague.text
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.resource_id == colleague.json()["id"]))
    assert entry is not None
    assert (entry.principal_id, entry.principal_person_id) == (f"key:{issued.json()['id']}", uuid.UUID(person["id"]))
    trail = (await client.get("/v1/audit-log", params={"resource_id": colleague.json()["id"]})).json()["items"]
    assert [e["principal_person_id"] for e in trail] == [person["id"]]


async def test_erasure_removes_name_and_email_everywhere_the_registry_serves_them(client, session):
    entity = await make_entity(session, acronym="ERASE")
    person = (await client.post("/v1/people", json={**PERSON, "entity_id": str(entity["id"])})).json()
    renamed = await client.patch(
        f"/v1/people/{person['id']}", json={"name": "Amina B. Example"}, headers={"If-Match": '"1"'}
    )
    assert renamed.status_code == 200, renamed.text
    post = await client.post(
        f"/v1/people/{person['id']}/posts", json={"entity_id": str(entity["id"]), "start_date": "2025-01-01"}
    )
    erased = await client.post(f"/v1/people/{person['id']}/erase")
    assert erased.status_code == 200, erased.text
    assert (erased.json()["name"], erased.json()["email"]) == (None, None) and erased.json()["erased_at"]
    assert (await client.get(f"/v1/people/{person['id']}")).json()["name"] is None
    posts = (await client.get(f"/v1/people/{person['id']}/posts")).json()["items"]
    assert [p["id"] for p in posts] == [post.json()["id"]]
    assert "Amina" not in str(posts) and "amina@" not in str(posts)
    trail = (await client.get("/v1/audit-log", params={"resource_id": person["id"]})).json()["items"]
    assert len(trail) == 3 and "Amina" not in str(trail) and "amina@" not in str(trail)
    assert trail[0]["after"]["name"] == f"person:{person['id']}"
    again = await client.post(f"/v1/people/{person['id']}/erase")
    assert again.status_code == 409 and again.json()["type"] == "/problems/person-erased"


async def test_the_change_feed_shows_a_person_to_their_entity_until_erased(feed_client):  # noqa: F811
    start = await head(feed_client)
    own = (await feed_client.post("/v1/entities", json={"acronym": "FEED1", "name": "Own", "kind": "un_system"})).json()
    other = (
        await feed_client.post("/v1/entities", json={"acronym": "FEED2", "name": "Other", "kind": "un_system"})
    ).json()
    person = (await feed_client.post("/v1/people", json={**PERSON, "entity_id": own["id"]})).json()
    roles = {
        "own focal point": {"role": "focal_point", "entity_id": own["id"]},
        "other focal point": {"role": "focal_point", "entity_id": other["id"]},
        "reader": {"role": "reader"},
        "integrator": {"role": "integrator"},
    }
    headers = {"admin": {}}
    for who, key in roles.items():
        created = (await feed_client.post("/v1/api-keys", json={"name": who, **key})).json()
        headers[who] = {"Authorization": f"Bearer {created['key']}"}

    async def names_seen(who: str) -> list[str | None]:
        params = {"after": start, "type": "person.*"}
        items = (await feed_client.get("/v1/events", params=params, headers=headers[who])).json()["items"]
        return [e["data"]["person"]["name"] for e in items if e["subject_id"] == person["id"]]

    for who in headers:
        expected = [PERSON["name"]] if who in ("admin", "own focal point") else []
        assert await names_seen(who) == expected, who
    assert (await feed_client.post(f"/v1/people/{person['id']}/erase")).status_code == 200
    assert await names_seen("admin") == [None, None]
    everything = (await feed_client.get("/v1/events", params={"after": start, "limit": 200})).json()["items"]
    assert "Amina" not in str(everything) and "amina@" not in str(everything)


async def test_an_invitee_entity_shows_its_invitation_sent_to_its_focal_points(committed, smtp):  # noqa: F811
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    async with get_database().session() as session:
        network = await make_network(session)
        staffed = await make_entity(session, acronym="FP-NOCONTACT")  # no contact address
        bare = await make_entity(session, acronym="FP-BARE")
        for entity in (staffed, bare):
            await make_membership(session, network_id=network["id"], entity_id=entity["id"])
        await _person(session, staffed["id"], "Only One", "only.one@one.example")
        meeting = await _annual_meeting(session, network["id"], [staffed["id"], bare["id"]], starts)
    await _relay_and_send()
    assert [m["To"] for m in smtp.messages] == ["only.one@one.example"]
    async with get_database().read() as conn:
        from services.meetings.repository import get_meeting_row

        row = await get_meeting_row(conn, meeting["id"])
    statuses = {i["entity"]["acronym"]: i["invitation"]["status"] for i in row["invitees"]}
    assert statuses == {"FP-NOCONTACT": "sent", "FP-BARE": "not_sent"}


async def test_erasure_removes_the_address_mail_was_sent_to_and_fails_what_was_not_sent(committed, smtp):  # noqa: F811
    """The delivery history keeps no address of an erased person: what was sent names the
    pseudonym, and what waits fails with the reason instead of going to someone erased."""
    from services.events.models import Event
    from services.flows.person_erasure import erase_person
    from services.mail.models import EmailAttempt, EmailDelivery
    from services.mail.recipients import NOT_SENT

    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    async with get_database().session() as session:
        network = await make_network(session)
        entity = await make_entity(session, acronym="FP-ERASE")
        await make_membership(session, network_id=network["id"], entity_id=entity["id"])
        person = await _person(session, entity["id"], "To Be Erased", "Erase.Me@one.example")
        kept = await _person(session, entity["id"], "Stays", "stays@one.example")
        await _annual_meeting(session, network["id"], [entity["id"]], starts)
    await _relay_and_send()
    assert sorted(m["To"] for m in smtp.messages) == ["erase.me@one.example", "stays@one.example"]  # stored lower-case
    async with get_database().session() as session:  # one more, not yet sent, in another case
        event_id = await session.scalar(select(Event.id).where(Event.subject_id == kept["id"]).limit(1))
        session.add(EmailDelivery(event_id=event_id, recipient="erase.me@ONE.example", kind="invitation"))
    async with get_database().session() as session:
        sent_id = await session.scalar(
            select(EmailDelivery.id).where(EmailDelivery.recipient == "erase.me@one.example")
        )
        session.add(EmailAttempt(delivery_id=sent_id, latency_ms=1, error="450 erase.me@one.example: try later"))
    async with get_database().session() as session:
        await erase_person(session, person_id=person["id"], actor=SYSTEM)
    async with get_database().session() as session:
        rows = (await session.execute(select(EmailDelivery))).scalars().all()
        errors = (await session.execute(select(EmailAttempt.error))).scalars().all()
    pseudonym = f"person:{person['id']}"
    assert not [r for r in rows if "erase.me" in r.recipient.lower()]
    erased = sorted((str(r.status), r.last_error or "") for r in rows if r.recipient == pseudonym)
    assert erased == [("failed", NOT_SENT), ("succeeded", "")], erased
    assert [r.status for r in rows if r.recipient == "stays@one.example"] != []  # the other focal point's stay
    assert (
        errors
        and not [e for e in errors if e and "erase.me" in e.lower()]
        and any(pseudonym in (e or "") for e in errors)
    )


async def test_a_reminder_goes_to_the_focal_points_of_the_day_it_is_sent(committed, smtp):  # noqa: F811
    """The invitation goes to the focal point of today; the reminder, two days later, to the
    one who holds the post by then (the first's post has ended), never to the contact address."""
    from services.meetings.service import send_due_reminders

    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    today = clock.today()
    async with get_database().session() as session:
        network = await make_network(session)
        entity = await make_entity(session, acronym="FP-HANDOVER", contact_email="registry@handover.example")
        await make_membership(session, network_id=network["id"], entity_id=entity["id"])
        await _person(session, entity["id"], "Leaving", "leaving@handover.example", start=today, end=today)
        await _person(session, entity["id"], "Arriving", "arriving@handover.example", start=today + timedelta(days=1))
        await _annual_meeting(session, network["id"], [entity["id"]], starts)
    await _relay_and_send()
    assert [m["To"] for m in smtp.messages] == ["leaving@handover.example"]
    clock.freeze(starts - timedelta(hours=23))
    async with get_database().session() as session:
        assert await send_due_reminders(session, now=clock.now()) == 1
    await _relay_and_send()
    reminders = [m["To"] for m in smtp.messages if m["Subject"].startswith("Reminder")]
    assert reminders == ["arriving@handover.example"]
