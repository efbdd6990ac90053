"""Invitees answer their invitations: the links of the e-mail, read from a real SMTP server and
followed by a person with no key (a GET shows, a POST records), the answer on the meeting, in
the next invitation's PARTSTAT, in the change feed and at two webhook receivers (verified with
standardwebhooks); every way a link can be refused; and an iTIP REPLY posted by a system."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from services.database import get_database
from services.encryption import new_key_entry
from services.meetings.links import LinkInvalid, sign_link, verify_link
from services.meetings.models import MeetingKind
from services.meetings.schemas import AgendaItem, InviteeIn, MeetingCancel, MeetingCreate, MeetingHold, MeetingUpdate
from services.meetings.service import cancel_meeting, create_meeting, hold_meeting, update_meeting
from services.people.schemas import FocalPointCreate, PersonCreate
from services.people.service import appoint_focal_point, create_person
from services.principals import SYSTEM
from services.settings import get_settings, use_settings
from tests.conftest import PUBLIC, committed_admin_key
from tests.factories import make_entity, make_membership, make_network
from tests.served_app import served_app
from tests.test_mail import _calendar, _relay_and_send, smtp  # noqa: F401 - the fixture
from tests.webhook_receiver import Receiver

FOCAL_POINT = "amina.focal@ilo.example"
EXTERNAL = "forum@example.org"


@pytest.fixture
async def clients(committed):
    """An admin, an integrator, and a person with no key at all."""
    app = served_app()

    def client(key: str | None) -> AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return AsyncClient(transport=ASGITransport(app=app), base_url="http://t", headers=headers)

    admin = client(await committed_admin_key())
    created = await admin.post("/v1/api-keys", json={"name": "calendar system", "role": "integrator"})
    made = {"admin": admin, "integrator": client(created.json()["key"]), "person": client(None)}
    yield made
    for each in made.values():
        await each.aclose()


async def _meeting(starts: datetime, **overrides: Any) -> dict[str, Any]:
    """A meeting of a network coordinated by IOM, for ILO (whose focal point is a person of the
    registry) and an external stakeholder."""
    async with get_database().session() as session:
        iom = await make_entity(session, acronym="ANS-IOM", name="IOM", contact_email="secretariat@iom.example")
        network = await make_network(session, coordinator_id=iom["id"])
        ilo = await make_entity(session, acronym="ANS-ILO", name="ILO")
        await make_membership(session, network_id=network["id"], entity_id=ilo["id"])
        person = await create_person(
            session, data=PersonCreate(entity_id=ilo["id"], name="Amina Focal", email=FOCAL_POINT), actor=SYSTEM
        )
        await appoint_focal_point(
            session,
            person_id=person["id"],
            data=FocalPointCreate(entity_id=ilo["id"], start_date=starts.date() - timedelta(days=400)),
            actor=SYSTEM,
        )
        data = {
            "network_id": network["id"],
            "kind": MeetingKind.EXTENDED_MEMBERSHIP,
            "title": "Annual meeting",
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=3),
            "time_zone": "Europe/Zurich",
            "location": "Palais des Nations, Geneva",
            "agenda": [AgendaItem(title="Opening")],
            "invitees": [InviteeIn(entity_id=ilo["id"]), InviteeIn(name="Migrant Forum", email=EXTERNAL)],
            **overrides,
        }
        meeting = await create_meeting(session, data=MeetingCreate(**data), actor=SYSTEM)
    return {**meeting, "person_id": person["id"], "ilo_id": ilo["id"]}


def _parts(message) -> tuple[str, str]:
    [plain] = [p for p in message.walk() if p.get_content_type() == "text/plain"]
    [html] = [p for p in message.walk() if p.get_content_type() == "text/html"]
    return (
        plain.get_payload(decode=True).decode().replace("\r\n", "\n"),
        html.get_payload(decode=True).decode(),
    )


def _link(message, label: str) -> str:
    """The link labelled ``label`` in the plain text, also in the HTML part; as a path to follow."""
    plain, html = _parts(message)
    found = re.search(rf"^  {label}: (\S+)$", plain, re.MULTILINE)
    assert found, plain
    url = found.group(1)
    assert url.startswith(f"{PUBLIC}/invitations/"), url
    assert f'href="{url.replace("&", "&amp;")}"' in html, "the HTML part carries the same link"
    return url.removeprefix(PUBLIC)


def _page_of(message) -> str:
    plain, _ = _parts(message)
    found = re.search(r"^The meeting's page: (\S+)$", plain, re.MULTILINE)
    assert found, plain
    return found.group(1).removeprefix(PUBLIC)


def _invitees(meeting: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {(i["entity"] or {}).get("acronym") or i["name"]: i for i in meeting["invitees"]}


async def _rows(sql: str, **params: Any) -> list[Any]:
    async with get_database().read() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def _state(meeting_id: Any) -> list[Any]:
    """What a refused link must leave as it was: the invitees, and the meeting's events."""
    return [
        await _rows(
            "SELECT id, answer, answered_at FROM meeting_invitees WHERE meeting_id = :m ORDER BY id", m=meeting_id
        ),
        await _rows("SELECT count(*) FROM events WHERE subject_id = :m", m=meeting_id),
    ]


@pytest.fixture
def receivers():
    made = [Receiver(), Receiver()]
    yield made
    for receiver in made:
        receiver.close()


async def test_two_invitees_answer_from_their_email(clients, smtp, receivers, public_base_url):  # noqa: F811
    admin, person = clients["admin"], clients["person"]
    secrets = []
    for receiver in receivers:
        created = await admin.post(
            "/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["meeting.invitee_replied"]}
        )
        assert created.status_code == 201, created.text
        secrets.append(created.json()["secret"])
    meeting = await _meeting(datetime.now(UTC).replace(microsecond=0) + timedelta(days=20))
    await _relay_and_send()
    invitations = {m["To"]: m for m in smtp.messages}
    assert sorted(invitations) == [FOCAL_POINT, EXTERNAL]

    # The focal point opens the Accept link: a page with a button, and nothing recorded yet.
    accept = _link(invitations[FOCAL_POINT], "Accept")
    before = await _state(meeting["id"])
    for _ in range(2):  # a mail scanner, then the person: a GET changes nothing
        shown = await person.get(accept)
        assert shown.status_code == 200, shown.text
        assert shown.headers["content-type"].startswith("text/html")
        assert "<button" in shown.text and "Annual meeting" in shown.text
        assert shown.headers["referrer-policy"] == "no-referrer" and shown.headers["cache-control"] == "no-store"
    assert await _state(meeting["id"]) == before
    # The button posts back to the page's own address.
    assert '<form method="post" action="reply?answer=accepted&amp;lang=en">' in shown.text, shown.text
    recorded = await person.post(accept)
    assert recorded.status_code == 200, recorded.text
    assert "recorded as <strong>Accepted</strong>" in recorded.text

    # The meeting shows the answer, and when it was given.
    row = (await admin.get(f"/v1/meetings/{meeting['id']}")).json()
    ilo = _invitees(row)["ANS-ILO"]
    assert ilo["answer"] == "accepted" and ilo["answered_at"] is not None
    assert _invitees(row)["Migrant Forum"]["answer"] is None
    # The audit trail names the person it was sent to (by pseudonym), never "anonymous".
    [audit] = await _rows(
        "SELECT principal_id, principal_role, principal_person_id, after FROM audit_log"
        " WHERE resource_id = :m AND action = 'meeting.invitee_replied'",
        m=meeting["id"],
    )
    assert (audit.principal_id, audit.principal_role) == (f"person:{meeting['person_id']}", "invitee")
    assert audit.principal_person_id == meeting["person_id"] and audit.after["answer"] == "accepted"

    # An update sends a new invitation: the focal point's answer is its attendee's PARTSTAT.
    async with get_database().session() as session:
        await update_meeting(
            session,
            meeting_id=meeting["id"],
            data=MeetingUpdate(location="Palais Wilson, Geneva"),
            expected_version=None,
            actor=SYSTEM,
        )
    smtp.messages.clear()
    await _relay_and_send()
    updated = {m["To"]: m for m in smtp.messages}
    assert sorted(updated) == [FOCAL_POINT, EXTERNAL]
    [event] = _calendar(updated[EXTERNAL]).walk("VEVENT")
    partstat = {a.params["CN"]: (a.params["PARTSTAT"], a.params["RSVP"]) for a in event.get("ATTENDEE")}
    assert partstat == {"ILO": ("ACCEPTED", "FALSE"), "Migrant Forum": ("NEEDS-ACTION", "TRUE")}

    # The external stakeholder declines from the updated invitation.
    decline = _link(updated[EXTERNAL], "Decline")
    shown = await person.get(decline)
    assert shown.status_code == 200, shown.text
    assert '<form method="post" action="reply?answer=declined&amp;lang=en">' in shown.text, shown.text
    recorded = await person.post(decline)
    assert recorded.status_code == 200 and "Declined" in recorded.text, recorded.text
    row = (await admin.get(f"/v1/meetings/{meeting['id']}")).json()
    assert {name: i["answer"] for name, i in _invitees(row).items()} == {
        "ANS-ILO": "accepted",
        "Migrant Forum": "declined",
    }
    [audit] = await _rows(
        "SELECT principal_id FROM audit_log WHERE resource_id = :m AND action = 'meeting.invitee_replied'"
        " AND after->>'answer' = 'declined'",
        m=meeting["id"],
    )
    invitee_id = _invitees(row)["Migrant Forum"]["id"]
    assert audit.principal_id == f"invitee:{invitee_id}"  # not a person of the registry: the invitee

    # The meeting's feed shows both answers as PARTSTAT.
    feed = await admin.get(f"/v1/meetings/{meeting['id']}.ics")
    [event] = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    assert sorted(a.params["PARTSTAT"] for a in event.get("ATTENDEE")) == ["ACCEPTED", "DECLINED"]

    # The change feed, and both receivers, each event once, signed.
    await _relay_and_send()
    events = (await admin.get("/v1/events", params={"type": "meeting.invitee_replied", "limit": 200})).json()["items"]
    ours = [e for e in events if e["subject_id"] == str(meeting["id"])]
    assert [(e["data"]["invitee"]["name"] or "ILO", e["data"]["invitee"]["answer"]) for e in ours] == [
        ("ILO", "accepted"),
        ("Migrant Forum", "declined"),
    ]
    assert all(e["data"]["invitee"]["via"] == "link" for e in ours)
    for receiver, secret in zip(receivers, secrets, strict=True):
        bodies = [Webhook(secret).verify(r["body"], r["headers"]) for r in receiver.requests]
        answers = [
            (b["data"]["invitee"]["id"], b["data"]["invitee"]["answer"])
            for b in bodies
            if b["data"]["meeting"]["id"] == str(meeting["id"])
        ]
        assert answers == [(e["data"]["invitee"]["id"], e["data"]["invitee"]["answer"]) for e in ours]
        assert {b["type"] for b in bodies} == {"meeting.invitee_replied"}

    # The attendance starts from the answers: the entity that accepted is marked as attending.
    async with get_database().session() as session:
        await session.execute(
            text(
                "UPDATE meetings SET starts_at = now() - interval '3 hours', ends_at = now() - interval '1 hour'"
                " WHERE id = :m"
            ),
            {"m": meeting["id"]},
        )
        await hold_meeting(
            session, meeting_id=meeting["id"], data=MeetingHold(minutes="Met."), expected_version=None, actor=SYSTEM
        )
    row = (await admin.get(f"/v1/meetings/{meeting['id']}")).json()
    assert _invitees(row)["ANS-ILO"]["attended"] is True


async def _link_for(meeting: dict[str, Any], invitee: str, **overrides: Any) -> str:
    """The meeting page's path for one invitee ("ANS-ILO" or "Migrant Forum"), signed as an
    invitation signs it (``overrides``: another expiry, person...)."""
    row = await _rows("SELECT id, entity_id, name FROM meeting_invitees WHERE meeting_id = :m", m=meeting["id"])
    [invitee_id] = [r.id for r in row if (r.name or "ANS-ILO") == invitee]
    fields = {
        "meeting_id": meeting["id"],
        "invitee_id": invitee_id,
        "person_id": None,
        "expires_at": datetime.now(UTC) + timedelta(days=60),
        **overrides,
    }
    return f"/invitations/{sign_link(**fields)}"


async def _refused(person: AsyncClient, page: str, status: int, says: str, meeting_id: Any) -> None:
    """Every route of the link answers ``status`` with a page saying ``says``, and nothing changes."""
    before = await _state(meeting_id)
    for method, path in (
        ("GET", page),
        ("GET", f"{page}/meeting.ics"),
        ("GET", f"{page}/reply?answer=accepted"),
        ("POST", f"{page}/reply?answer=accepted"),
    ):
        response = await person.request(method, path)
        assert response.status_code == status, (method, path, response.text)
        assert response.headers["content-type"].startswith("text/html"), (method, path)
        assert says in response.text, (method, path, response.text)
        assert "<!DOCTYPE html>" in response.text and "Traceback" not in response.text
    assert await _state(meeting_id) == before, "a refused link must change nothing"


async def test_an_altered_link_is_refused(clients):
    meeting = await _meeting(datetime.now(UTC) + timedelta(days=20))
    page = await _link_for(meeting, "ANS-ILO")
    await _refused(
        clients["person"], page[:-2] + ("xy" if not page.endswith("xy") else "yz"), 403, "not valid", meeting["id"]
    )
    await _refused(clients["person"], "/invitations/not-a-token", 403, "not valid", meeting["id"])


async def test_a_link_for_another_invitee_made_by_hand_is_refused(clients):
    """The token names its invitee under the signature: putting another's id in it breaks it."""
    meeting = await _meeting(datetime.now(UTC) + timedelta(days=20))
    mine = (await _link_for(meeting, "ANS-ILO")).removeprefix("/invitations/")
    theirs = (await _link_for(meeting, "Migrant Forum")).removeprefix("/invitations/")
    key, _, mac = mine.rsplit(".", 2)
    _, their_body, _ = theirs.rsplit(".", 2)
    await _refused(clients["person"], f"/invitations/{key}.{their_body}.{mac}", 403, "not valid", meeting["id"])


async def test_an_expired_link_is_gone(clients):
    meeting = await _meeting(datetime.now(UTC) + timedelta(days=20))
    page = await _link_for(meeting, "ANS-ILO", expires_at=datetime.now(UTC) - timedelta(minutes=1))
    await _refused(clients["person"], page, 410, "expired", meeting["id"])


async def test_the_link_of_a_removed_invitee_is_gone_and_a_kept_one_keeps_its_answer(clients):
    meeting = await _meeting(datetime.now(UTC) + timedelta(days=20))
    kept = await _link_for(meeting, "Migrant Forum")
    assert (await clients["person"].post(f"{kept}/reply?answer=tentative")).status_code == 200
    page = await _link_for(meeting, "ANS-ILO")
    async with get_database().session() as session:
        await update_meeting(
            session,
            meeting_id=meeting["id"],
            data=MeetingUpdate(invitees=[InviteeIn(name="Migrant Forum", email=EXTERNAL)]),
            expected_version=None,
            actor=SYSTEM,
        )
    await _refused(clients["person"], page, 410, "withdrawn", meeting["id"])
    # The invitee listed again kept its row: its link still works, its answer is still there.
    shown = await clients["person"].get(kept)
    assert shown.status_code == 200 and "<strong>Tentative</strong>" in shown.text, shown.text


async def test_a_cancelled_meeting_shows_as_cancelled_and_takes_no_answer(clients):
    meeting = await _meeting(datetime.now(UTC) + timedelta(days=20))
    page = await _link_for(meeting, "ANS-ILO")
    async with get_database().session() as session:
        await cancel_meeting(
            session,
            meeting_id=meeting["id"],
            data=MeetingCancel(reason="Postponed."),
            expected_version=None,
            actor=SYSTEM,
        )
    shown = await clients["person"].get(page)
    assert shown.status_code == 200 and "This meeting was cancelled" in shown.text and "Postponed." in shown.text
    assert "/reply?answer=" not in shown.text  # no answer offered
    before = await _state(meeting["id"])
    for method in ("GET", "POST"):
        response = await clients["person"].request(method, f"{page}/reply?answer=accepted")
        assert response.status_code == 409 and "cancelled" in response.text, response.text
    assert await _state(meeting["id"]) == before


async def test_a_meeting_that_is_over_takes_no_answer(clients):
    meeting = await _meeting(datetime.now(UTC) - timedelta(hours=5))
    page = await _link_for(meeting, "ANS-ILO")
    shown = await clients["person"].get(page)
    assert shown.status_code == 200 and "/reply?answer=" not in shown.text
    before = await _state(meeting["id"])
    for method in ("GET", "POST"):
        response = await clients["person"].request(method, f"{page}/reply?answer=declined")
        assert response.status_code == 409 and "over" in response.text, response.text
    assert await _state(meeting["id"]) == before


async def test_a_page_shows_nothing_its_invitee_may_not_see(clients):
    meeting = await _meeting(datetime.now(UTC) + timedelta(days=20))
    shown = await clients["person"].get(await _link_for(meeting, "ANS-ILO"))
    assert shown.status_code == 200
    assert EXTERNAL not in shown.text and "Migrant Forum" not in shown.text  # another invitee, and its address
    assert "/v1/" not in shown.text
    calendar = await clients["person"].get(f"{await _link_for(meeting, 'ANS-ILO')}/meeting.ics")
    assert calendar.status_code == 200 and calendar.headers["content-type"].startswith("text/calendar")
    assert EXTERNAL not in calendar.text and "mailto:" not in calendar.text


HOSTILE_TITLE = "Réunion\nannuelle\x07 <script>alert(1)</script> \u202eاجتماع الشبكة السنوي"  # noqa: RUF001


async def _hostile_meeting() -> dict[str, Any]:
    """A meeting whose stored texts hold what the API refuses today (line breaks, control
    characters) as an older release or a direct edit could have left them, and markup and
    right-to-left text, which it accepts."""
    meeting = await _meeting(
        datetime.now(UTC) + timedelta(days=20),
        agenda=[AgendaItem(title="<img src=x onerror=alert(2)>"), AgendaItem(title="الترحيب والافتتاح")],
    )
    async with get_database().session() as session:
        await session.execute(
            text("UPDATE meetings SET title = :t, location = :l WHERE id = :m"),
            {"t": HOSTILE_TITLE, "l": "Salle <b>XX</b>\r\nGenève\x1b", "m": meeting["id"]},
        )
    return meeting


async def test_hostile_text_on_the_pages_is_escaped(clients):
    meeting = await _hostile_meeting()
    page = await _link_for(meeting, "ANS-ILO")
    for path in (page, f"{page}/reply?answer=tentative"):
        shown = await clients["person"].get(path)
        assert shown.status_code == 200, shown.text
        body = shown.text
        assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "<img src=x" not in body and "<b>XX</b>" not in body
        assert "\x07" not in body and "\x1b" not in body
        assert "Réunion annuelle" in body  # the line break became a space: one line
        assert '<h1 dir="auto">' in body  # a right-to-left title reads right
    posted = await clients["person"].post(f"{page}/reply?answer=tentative")
    assert posted.status_code == 200 and "&lt;script&gt;" in posted.text and "<script>alert" not in posted.text


def _reply_from(invitation, attendee: str, partstat: str, *, method: str = "REPLY") -> bytes:
    """An iTIP REPLY to ``invitation`` (as a calendar app answers it, read with icalendar):
    the event's UID and SEQUENCE, one ATTENDEE with its PARTSTAT."""
    [event] = _calendar(invitation).walk("VEVENT")
    reply = icalendar.Calendar()
    reply.add("prodid", "-//Integrator//Calendar//EN")
    reply.add("version", "2.0")
    reply.add("method", method)
    answer = icalendar.Event()
    answer.add("uid", str(event["UID"]))
    answer.add("dtstamp", datetime.now(UTC))
    answer.add("sequence", int(event["SEQUENCE"]))
    answer.add("attendee", attendee, parameters={"PARTSTAT": partstat})
    reply.add_component(answer)
    return bytes(reply.to_ical())


async def test_an_itip_reply_from_a_system_is_checked_against_the_invitees(clients, smtp):  # noqa: F811
    integrator, admin = clients["integrator"], clients["admin"]
    meeting = await _meeting(datetime.now(UTC) + timedelta(days=20))
    await _relay_and_send()
    invitation = next(m for m in smtp.messages if m["To"] == EXTERNAL)
    url = f"/v1/meetings/{meeting['id']}/itip-replies"
    calendar = {"content-type": "text/calendar; charset=utf-8"}

    async def post(body: bytes, client: AsyncClient = integrator, headers: dict[str, str] = calendar):
        return await client.post(url, content=body, headers=headers)

    before = await _state(meeting["id"])
    refusals = [
        (await post(_reply_from(invitation, f"mailto:{EXTERNAL}", "ACCEPTED", method="REQUEST")), 422, "METHOD"),
        (await post(_reply_from(invitation, "mailto:stranger@example.org", "ACCEPTED")), 422, "not an invitee"),
        (await post(_reply_from(invitation, f"mailto:{EXTERNAL}", "NEEDS-ACTION")), 422, "PARTSTAT"),
        (await post(b"BEGIN:VCALENDAR\r\nnot a calendar"), 422, "iCalendar"),
        (
            await post(
                _reply_from(invitation, f"mailto:{EXTERNAL}", "ACCEPTED").replace(str(meeting["id"]).encode(), b"x")
            ),
            422,
            "UID",
        ),
        (
            await post(
                _reply_from(invitation, f"mailto:{EXTERNAL}", "ACCEPTED"), headers={"content-type": "application/json"}
            ),
            415,
            "text/calendar",
        ),
        (await clients["person"].post(url, content=b"x", headers=calendar), 401, ""),
    ]
    reader_key = (await admin.post("/v1/api-keys", json={"name": "reader", "role": "reader"})).json()["key"]
    async with AsyncClient(
        transport=ASGITransport(app=served_app()),
        base_url="http://t",
        headers={"Authorization": f"Bearer {reader_key}"},
    ) as reader:
        refusals.append((await post(_reply_from(invitation, f"mailto:{EXTERNAL}", "ACCEPTED"), reader), 403, ""))
    for response, status, says in refusals:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert says in response.json()["detail"], response.text
    assert await _state(meeting["id"]) == before

    answered = await post(_reply_from(invitation, f"mailto:{EXTERNAL}", "TENTATIVE"))
    assert answered.status_code == 200, answered.text
    assert _invitees(answered.json())["Migrant Forum"]["answer"] == "tentative"
    # The entity answers by the urn:uuid its invitation named it with.
    [event] = _calendar(invitation).walk("VEVENT")
    ilo = next(str(a) for a in event.get("ATTENDEE") if a.params["CN"] == "ILO")
    answered = await post(_reply_from(invitation, ilo, "DECLINED"))
    assert answered.status_code == 200, answered.text
    assert _invitees(answered.json())["ANS-ILO"]["answer"] == "declined"
    [audit] = await _rows(
        "SELECT principal_id, principal_role, after FROM audit_log WHERE resource_id = :m"
        " AND action = 'meeting.invitee_replied' AND after->>'answer' = 'declined'",
        m=meeting["id"],
    )
    assert audit.principal_role == "integrator" and audit.after["via"] == "itip"

    # A REPLY to an invitation the meeting has since replaced is stale.
    async with get_database().session() as session:
        await update_meeting(
            session,
            meeting_id=meeting["id"],
            data=MeetingUpdate(location="Elsewhere"),
            expected_version=None,
            actor=SYSTEM,
        )
    stale = await post(_reply_from(invitation, f"mailto:{EXTERNAL}", "ACCEPTED"))
    assert stale.status_code == 409 and "sequence" in stale.json()["detail"], stale.text


def test_links_outlive_a_new_key_and_stop_with_their_key_removed():
    """INVITATION_LINK_KEYS: the first key signs, every key verifies (docs/OPERATIONS.md)."""
    old, new = new_key_entry("2026-old"), new_key_entry("2027-new")
    ids = {"meeting_id": uuid.uuid4(), "invitee_id": uuid.uuid4(), "person_id": None}
    now, later = datetime.now(UTC), datetime.now(UTC) + timedelta(days=30)
    previous = get_settings()
    try:
        use_settings(previous.model_copy(update={"invitation_link_keys": old}))
        sent = sign_link(**ids, expires_at=later)
        use_settings(previous.model_copy(update={"invitation_link_keys": f"{new}, {old}"}))
        assert verify_link(sent, now=now).invitee_id == ids["invitee_id"]  # sent before: still works
        assert sign_link(**ids, expires_at=later).startswith("2027-new.")  # new links: the new key
        use_settings(previous.model_copy(update={"invitation_link_keys": new}))
        with pytest.raises(LinkInvalid):
            verify_link(sent, now=now)  # its key removed: every link it signed stops
    finally:
        use_settings(previous)
