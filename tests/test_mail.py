"""E-mail through a real SMTP server (aiosmtpd on loopback): invitations with the .ics
(METHOD:REQUEST), cancellations (METHOD:CANCEL), reminders; .eml files without SMTP."""

import email
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from sqlalchemy import select

from services.clock import clock
from services.database import get_database
from services.mail.models import EmailDelivery
from services.meetings.models import MeetingKind
from services.meetings.schemas import InviteeIn, MeetingCancel, MeetingCreate, MeetingUpdate
from services.meetings.service import cancel_meeting, create_meeting, send_due_reminders, update_meeting
from services.principals import SYSTEM
from services.settings import get_settings, use_settings
from tests.factories import make_entity, make_membership, make_network
from tests.smtp_server import smtp_server
from tests.stub_worker import broker, drain


@pytest.fixture
def smtp():
    with smtp_server() as (inbox, port):
        previous = get_settings()
        use_settings(previous.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port}))
        yield inbox
        use_settings(previous)


async def _relay_and_send():

    from worker.events import relay_events

    broker.flush_all()
    await drain(threads=2, then=relay_events.send)


async def _cancel_and_send(meeting_id, reason):
    """Cancel the meeting as the system would, then relay and send what that raised."""
    async with get_database().session() as session:
        await cancel_meeting(
            session, meeting_id=meeting_id, data=MeetingCancel(reason=reason), expected_version=None, actor=SYSTEM
        )
    await _relay_and_send()


async def _meeting(starts):
    database = get_database()
    async with database.session() as session:
        network = await make_network(session)
        member = await make_entity(session, acronym="ML-UN", contact_email="focal@un.example")
        await make_membership(session, network_id=network["id"], entity_id=member["id"])
        row = await create_meeting(
            session,
            data=MeetingCreate(
                network_id=network["id"],
                kind=MeetingKind.EXTENDED_MEMBERSHIP,
                title="Annual meeting",
                starts_at=starts,
                ends_at=starts + timedelta(hours=6),
                time_zone="Europe/Zurich",
                location="Geneva",
                invitees=[InviteeIn(entity_id=member["id"]), InviteeIn(name="Migrant Forum", email="mf@example.org")],
                reminder_minutes=[24 * 60],
            ),
            actor=SYSTEM,
        )
    return row


def _calendar(message) -> icalendar.Calendar:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


async def test_invitations_cancellations_and_reminders_reach_the_invitees(committed, smtp):
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    meeting = await _meeting(starts)
    await _relay_and_send()
    assert sorted(m["To"] for m in smtp.messages) == ["focal@un.example", "mf@example.org"]
    invitation = smtp.messages[0]
    assert invitation["Subject"] == "Invitation: Annual meeting"
    cal = _calendar(invitation)
    assert str(cal["METHOD"]) == "REQUEST"
    [event] = cal.walk("VEVENT")
    assert str(event["UID"]) == f"{meeting['id']}@migration-network-registry" and int(event["SEQUENCE"]) == 0

    database = get_database()
    async with database.session() as session:
        await update_meeting(
            session,
            meeting_id=meeting["id"],
            data=MeetingUpdate(title="Annual meeting (renamed)"),
            expected_version=None,
            actor=SYSTEM,
        )
    await _relay_and_send()
    assert len(smtp.messages) == 2  # a new title is not news worth an e-mail

    clock.freeze(starts - timedelta(hours=23))
    async with database.session() as session:
        assert await send_due_reminders(session, now=clock.now()) == 1
    await _relay_and_send()
    reminders = [m for m in smtp.messages if m["Subject"].startswith("Reminder")]
    assert len(reminders) == 2

    await _cancel_and_send(meeting["id"], "Postponed.")
    cancellations = [m for m in smtp.messages if m["Subject"].startswith("Cancelled")]
    assert len(cancellations) == 2
    cal = _calendar(cancellations[0])
    assert str(cal["METHOD"]) == "CANCEL"
    [event] = cal.walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 1
    async with database.read() as conn:
        statuses = set((await conn.scalars(select(EmailDelivery.status))).all())
    assert statuses == {"succeeded"}


async def test_without_smtp_messages_are_written_as_eml_files(committed, tmp_path):
    previous = get_settings()
    use_settings(previous.model_copy(update={"smtp_host": None, "data_dir": tmp_path}))
    try:
        await _meeting(datetime.now(UTC) + timedelta(days=5))
        await _relay_and_send()
    finally:
        use_settings(previous)
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2
    message = email.message_from_bytes(files[0].read_bytes())
    assert message["Subject"] == "Invitation: Annual meeting"


async def test_an_unreachable_smtp_server_means_a_retry_later(committed):
    previous = get_settings()
    use_settings(previous.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 9}))
    try:
        await _meeting(datetime.now(UTC) + timedelta(days=5))
        await _relay_and_send()
    finally:
        use_settings(previous)
    async with get_database().read() as conn:
        rows = (
            await conn.execute(select(EmailDelivery.status, EmailDelivery.attempts, EmailDelivery.last_error))
        ).all()
    assert {(r.status, r.attempts) for r in rows} == {("pending", 1)}
    assert all(r.last_error for r in rows)
