"""Invitations as the people and calendar apps that receive them see them: read from a real
SMTP server, parsed with the icalendar package — iTIP (RFC 5546) REQUEST and CANCEL, times
in the meeting's own zone and UTC, no link a person cannot open, and per-invitee status."""

from datetime import UTC, datetime, timedelta

import pytest
from httpx import ASGITransport, AsyncClient

from services.clock import clock
from services.database import get_database
from services.meetings.models import MeetingKind
from services.meetings.repository import get_meeting_row
from services.meetings.schemas import AgendaItem, InviteeIn, MeetingCreate
from services.meetings.service import create_meeting
from services.principals import SYSTEM
from tests.browser import artifacts_dir
from tests.conftest import PUBLIC, committed_admin_key
from tests.factories import make_entity, make_membership, make_network
from tests.served_app import served_app
from tests.test_mail import _calendar, _cancel_and_send, _relay_and_send, smtp  # noqa: F401 - the fixture


@pytest.fixture
async def client_for_committed(committed):
    headers = {"Authorization": f"Bearer {await committed_admin_key()}"}
    async with AsyncClient(transport=ASGITransport(app=served_app()), base_url="http://t", headers=headers) as client:
        yield client


async def _zurich_meeting(starts: datetime, **overrides):
    """A meeting of a network coordinated by IOM, for two entities (one without an e-mail
    address) and two external stakeholders."""
    async with get_database().session() as session:
        iom = await make_entity(session, acronym="INV-IOM", name="IOM", contact_email="secretariat@iom.example")
        network = await make_network(session, coordinator_id=iom["id"])
        ilo = await make_entity(session, acronym="INV-ILO", name="ILO", contact_email="focal@ilo.example")
        silent = await make_entity(session, acronym="INV-NOMAIL", name="No Mail Agency")
        for member in (ilo, silent):
            await make_membership(session, network_id=network["id"], entity_id=member["id"])
        data = {
            "network_id": network["id"],
            "kind": MeetingKind.EXTENDED_MEMBERSHIP,
            "title": "Annual meeting",
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=3),
            "time_zone": "Europe/Zurich",
            "location": "Palais des Nations, Geneva",
            "agenda": [AgendaItem(title="Opening"), AgendaItem(title="Review of the workplan")],
            "invitees": [
                InviteeIn(entity_id=ilo["id"]),
                InviteeIn(entity_id=silent["id"]),
                InviteeIn(name="Migrant Forum", email="mf@example.org"),
                InviteeIn(name="City of Geneva", email="city@example.org"),
            ],
            **overrides,
        }
        return await create_meeting(session, data=MeetingCreate(**data), actor=SYSTEM)


async def test_an_invitation_reads_right_and_follows_itip(committed, smtp, public_base_url):  # noqa: F811
    starts = datetime(datetime.now(UTC).year + 1, 1, 12, 13, 0, tzinfo=UTC)  # 14:00 in Zurich (winter)
    meeting = await _zurich_meeting(starts)
    await _relay_and_send()
    by_recipient = {m["To"]: m for m in smtp.messages}
    for recipient, message in by_recipient.items():  # for a person to open (test-artifacts/)
        (artifacts_dir() / f"invitation-to-{recipient}.eml").write_bytes(message.as_bytes())
    assert sorted(by_recipient) == ["city@example.org", "focal@ilo.example", "mf@example.org"]

    [plain] = [p for p in by_recipient["focal@ilo.example"].walk() if p.get_content_type() == "text/plain"]
    text = plain.get_payload(decode=True).decode()
    assert "14:00\u201317:00 Europe/Zurich (13:00\u201316:00 UTC)" in text, text
    assert "+00:00" not in text and "127.0.0.1" not in text
    # The record's API address answers a person's browser with 401: no e-mail links to it; the
    # links it has open the invitee's own pages (tests/test_invitation_answers.py).
    assert "/v1/meetings/" not in text
    links = [word for word in text.split() if word.startswith("http")]
    assert links and all(link.startswith(f"{PUBLIC}/invitations/") for link in links), links
    assert "1. Opening" in text and "2. Review of the workplan" in text

    for recipient, message in by_recipient.items():
        cal = _calendar(message)
        assert str(cal["METHOD"]) == "REQUEST"
        [event] = cal.walk("VEVENT")
        assert str(event["UID"]) == f"{meeting['id']}@migration-network-registry"
        assert str(event["ORGANIZER"]) == "mailto:secretariat@iom.example"
        assert event["ORGANIZER"].params["CN"] == "IOM"
        attendees = event.get("ATTENDEE")
        assert len(attendees) == 4  # one per invitee
        for attendee in attendees:
            assert attendee.params["PARTSTAT"] == "NEEDS-ACTION" and attendee.params["RSVP"] == "TRUE"
        addresses = {str(a) for a in attendees}
        assert "mailto:focal@ilo.example" in addresses
        # An external stakeholder's address is personal data: only its own invitation shows it.
        for external in ("mf@example.org", "city@example.org"):
            assert (f"mailto:{external}" in addresses) == (recipient == external), (recipient, external)
        assert "Opening" in str(event["DESCRIPTION"])
        assert event.decoded("DTSTART") == starts and str(event["DTSTART"].params["TZID"]) == "Europe/Zurich"
        assert "URL" not in event  # a calendar app would show it as a link that answers 401

    await _cancel_and_send(meeting["id"], "Postponed.")
    cancellations = [m for m in smtp.messages if m["Subject"].startswith("Cancelled")]
    assert len(cancellations) == 3
    cal = _calendar(cancellations[0])
    [event] = cal.walk("VEVENT")
    assert str(cal["METHOD"]) == "CANCEL" and str(event["UID"]) == f"{meeting['id']}@migration-network-registry"
    assert int(event["SEQUENCE"]) > 0 and str(event["STATUS"]) == "CANCELLED"


async def test_the_time_zone_definition_holds_past_2038(committed, smtp):  # noqa: F811
    starts = datetime(2045, 7, 3, 8, 0, tzinfo=UTC)  # 10:00 in Zurich, summer time
    await _zurich_meeting(starts)
    await _relay_and_send()
    cal = _calendar(smtp.messages[0])
    [zone] = cal.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Europe/Zurich"
    onsets = [c.decoded("DTSTART").year for c in zone.walk("DAYLIGHT")]
    for daylight in zone.walk("DAYLIGHT"):
        rdates = daylight.get("RDATE", [])
        for rdate in rdates if isinstance(rdates, list) else [rdates]:
            onsets += [r.dt.year for r in rdate.dts]
    assert 2045 in onsets, "no summer time defined for the meeting's year"
    [event] = cal.walk("VEVENT")
    local = event.decoded("DTSTART")
    assert local.utcoffset() == timedelta(hours=2) and local.hour == 10


async def test_each_invitee_shows_whether_its_invitation_went_out(committed, smtp, client_for_committed):  # noqa: F811
    meeting = await _zurich_meeting(datetime.now(UTC) + timedelta(days=10))
    await _relay_and_send()
    row = (await client_for_committed.get(f"/v1/meetings/{meeting['id']}")).json()
    status = {(i["entity"] or {}).get("acronym") or i["name"]: i["invitation"] for i in row["invitees"]}
    assert status["INV-ILO"]["status"] == "sent" and status["INV-ILO"]["sent_at"]
    assert status["Migrant Forum"]["status"] == "sent"
    assert status["INV-NOMAIL"]["status"] == "not_sent"
    assert "contact_email" in status["INV-NOMAIL"]["reason"]


async def test_no_invitation_for_a_meeting_that_has_ended(committed, smtp):  # noqa: F811
    clock.freeze(datetime.now(UTC))
    ended = datetime.now(UTC) - timedelta(days=30)
    meeting = await _zurich_meeting(ended)
    await _relay_and_send()
    assert smtp.messages == []
    async with get_database().read() as conn:
        row = await get_meeting_row(conn, meeting["id"])
    assert {i["invitation"]["status"] for i in row["invitees"]} == {"not_sent"}
    assert any("ended" in (i["invitation"]["reason"] or "") for i in row["invitees"])


async def test_an_invitation_to_one_meeting_does_not_show_as_sent_for_another(committed, smtp):  # noqa: F811
    """The same address invited to two meetings: only the first one's invitation has gone out,
    so the second shows its own as pending, not the first's as sent."""
    first = await _zurich_meeting(datetime.now(UTC) + timedelta(days=10))
    await _relay_and_send()
    starts = datetime.now(UTC) + timedelta(days=20)
    async with get_database().session() as session:
        second = await create_meeting(
            session,
            data=MeetingCreate(
                network_id=first["network_id"],
                kind=MeetingKind.EXTENDED_MEMBERSHIP,
                title="Second meeting",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                time_zone="Europe/Zurich",
                location="Palais des Nations, Geneva",
                invitees=[InviteeIn(name="Migrant Forum", email="mf@example.org")],
            ),
            actor=SYSTEM,
        )
    async with get_database().read() as conn:
        sent = await get_meeting_row(conn, first["id"])
        waiting = await get_meeting_row(conn, second["id"])
    assert {i["name"]: i["invitation"]["status"] for i in sent["invitees"]}["Migrant Forum"] == "sent"
    assert [i["invitation"]["status"] for i in waiting["invitees"]] == ["pending"]
