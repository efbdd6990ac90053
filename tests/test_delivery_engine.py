"""The one delivery engine (services/delivery/), through both transports against real
receivers (an SMTP server, HTTP receivers): no error leaves a delivery stuck, an endpoint
that answers again gets its waiting deliveries at once, an operator sees where deliveries
stand and can retry them now."""

import asyncio
import json
import smtplib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select, text, update

from api.cli import main
from services.database import get_database
from services.delivery.engine import lease, send_batch
from services.delivery.senders import EMAIL, WEBHOOK
from services.delivery.transports import smtp as smtp_transport
from services.delivery_status import DeliveryStatus
from services.events.models import Event
from services.mail.models import EmailAttempt, EmailDelivery
from services.meetings.models import Meeting, MeetingInvitee, MeetingKind
from services.meetings.schemas import InviteeIn, MeetingCreate, MeetingUpdate
from services.meetings.service import create_meeting, update_meeting
from services.observability.metrics import DELIVERIES
from services.principals import SYSTEM
from services.scheduling.status import operational_status
from services.webhooks.models import WebhookDelivery
from tests.conftest import committed_admin_key
from tests.factories import make_network
from tests.served_app import served_app
from tests.sql_statements import statements_issued
from tests.stub_worker import broker, drain
from tests.test_mail import _relay_and_send, smtp  # noqa: F401 - the fixture
from tests.webhook_receiver import Receiver
from worker import scheduler


def _count(metric, *labels) -> float:
    return metric.labels(*labels)._value.get()


async def _two_meetings(invitees: int = 2, *, network_id=None) -> list[dict]:
    """Two meetings of one network, each with external invitees of its own (two, or ``invitees``)."""
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    async with get_database().session() as session:
        network = {"id": network_id} if network_id else await make_network(session)
        return [
            await create_meeting(
                session,
                data=MeetingCreate(
                    network_id=network["id"],
                    kind=MeetingKind.OTHER,
                    title=f"Consultation {name}",
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=2),
                    time_zone="Europe/Zurich",
                    location="Geneva",
                    invitees=[
                        InviteeIn(name=f"Forum {name}", email=f"forum-{name}@example.org"),
                        InviteeIn(name=f"City {name}", email=f"city-{name}@example.org"),
                        *(
                            InviteeIn(name=f"Guest {name}{i}", email=f"guest-{name}{i}@example.org")
                            for i in range(invitees - 2)
                        ),
                    ][:invitees],
                ),
                actor=SYSTEM,
            )
            for name in ("a", "b")
        ]


async def _move(meeting_id) -> None:
    """A new place: news for the invitees (an updated invitation each)."""
    async with get_database().session() as session:
        await update_meeting(
            session, meeting_id=meeting_id, data=MeetingUpdate(location="Bonn"), expected_version=None, actor=SYSTEM
        )


async def _updated_invitations(meeting_id) -> list:
    async with get_database().read() as conn:
        return (
            await conn.execute(
                select(EmailDelivery.id, EmailDelivery.status, EmailDelivery.attempts, EmailDelivery.last_error)
                .join(Event, Event.id == EmailDelivery.event_id)
                .where(Event.subject_id == meeting_id, Event.type == "meeting.updated")
                .order_by(EmailDelivery.id)
            )
        ).all()


@pytest.mark.parametrize("line_break", ["\r\n", "\u2028", "\u0085"], ids=["crlf", "u2028", "u0085"])
async def test_a_message_the_mail_library_refuses_fails_for_good_and_its_batch_is_delivered(
    committed,
    smtp,  # noqa: F811
    line_break,
):
    bad, good = await _two_meetings()
    await _relay_and_send()
    assert len(smtp.messages) == 4  # the first invitations went out
    # Written straight into the database, past the API's text policy: addresses with a line
    # break, which the mail library refuses in a header, and a title with one, which the
    # composer makes one line (the outputs never trust stored text).
    async with get_database().session() as session:
        await session.execute(
            update(MeetingInvitee)
            .where(MeetingInvitee.meeting_id == bad["id"])
            .values(email=MeetingInvitee.email + "\r\nBcc: x@example.org")
        )
        await session.execute(
            update(Meeting)
            .where(Meeting.id == good["id"])
            .values(title=f"Consultation b{line_break}Bcc: x@example.org")
        )
    await _move(bad["id"])
    await _move(good["id"])
    failed_before = _count(DELIVERIES, "email", "failed")
    await _relay_and_send()  # the four updated invitations, in one batch (one message)

    refused = await _updated_invitations(bad["id"])
    assert [(r.status, r.attempts) for r in refused] == [(DeliveryStatus.FAILED, 1)] * 2
    assert all("could not be composed" in r.last_error and "linefeed" in r.last_error for r in refused)
    delivered = await _updated_invitations(good["id"])
    assert [(r.status, r.attempts) for r in delivered] == [(DeliveryStatus.SUCCEEDED, 1)] * 2
    updates = [m for m in smtp.messages if m["Subject"].startswith("Updated invitation")]
    assert sorted(m["To"] for m in updates) == ["city-b@example.org", "forum-b@example.org"]
    subjects = [" ".join(str(m["Subject"]).split()) for m in updates]  # its words, on one line
    assert subjects == ["Updated invitation: Consultation b Bcc: x@example.org"] * 2, subjects
    assert all(m["Bcc"] is None for m in updates)
    assert not any("x@example.org" in f"{m['To']} {m['Cc']} {m['Bcc']}" for m in smtp.messages)  # nobody added
    async with get_database().read() as conn:
        attempts = await conn.scalar(
            select(func.count()).where(
                EmailAttempt.delivery_id.in_([r.id for r in refused]), EmailAttempt.error.is_not(None)
            )
        )
    assert attempts == 2  # each refusal in the attempt log
    assert _count(DELIVERIES, "email", "failed") - failed_before == 2

    # The invitees of the meeting see it, and so does the operator.
    headers = {"Authorization": f"Bearer {await committed_admin_key()}"}
    async with AsyncClient(transport=ASGITransport(app=served_app()), base_url="http://t", headers=headers) as client:
        shown = (await client.get(f"/v1/meetings/{bad['id']}")).json()
    assert [i["invitation"]["status"] for i in shown["invitees"]] == ["failed", "failed"]
    assert all("linefeed" in i["invitation"]["reason"] for i in shown["invitees"])
    async with get_database().read() as conn:
        email = (await operational_status(conn))["deliveries"]["email"]
    assert (email["failed"], email["pending"], email["waiting_for_retry"]) == (2, 0, 0)


async def test_an_exception_in_the_transport_is_kept_and_tried_again_on_the_schedule(
    committed,
    smtp,  # noqa: F811
    monkeypatch,
):
    meetings = await _two_meetings()
    send_smtp = smtp_transport._send_smtp

    def flaky(settings, message):
        if message["To"].startswith("city-"):
            raise RuntimeError("the transport tripped")
        send_smtp(settings, message)

    monkeypatch.setattr(smtp_transport, "_send_smtp", flaky)
    await _relay_and_send()
    async with get_database().read() as conn:
        rows = (
            await conn.execute(
                select(
                    EmailDelivery.recipient,
                    EmailDelivery.status,
                    EmailDelivery.attempts,
                    EmailDelivery.last_error,
                    EmailDelivery.next_attempt_at,
                )
            )
        ).all()
    tripped = [r for r in rows if r.recipient.startswith("city-")]
    assert len(tripped) == 2 and len(meetings) == 2
    assert {(r.status, r.attempts, r.last_error) for r in tripped} == {
        (DeliveryStatus.PENDING, 1, "RuntimeError: the transport tripped")
    }
    assert all(r.next_attempt_at > datetime.now(UTC) for r in tripped)  # on the schedule, not at once
    assert sorted(m["To"] for m in smtp.messages) == ["forum-a@example.org", "forum-b@example.org"]


async def test_an_email_batch_costs_the_same_statements_whatever_its_size(committed, smtp):  # noqa: F811
    from worker.events import relay_events

    measured = {}
    async with get_database().session() as session:
        network = await make_network(session)
    for invitees in (1, 4):
        await _two_meetings(invitees, network_id=network["id"])
        broker.flush_all()
        await relay_events.fn()  # the invitations made, their messages left unsent
        broker.flush_all()
        async with get_database().read() as conn:
            ids = list((await conn.scalars(select(EmailDelivery.id).where(EmailDelivery.status == "pending"))).all())
        assert len(ids) == 2 * invitees
        with statements_issued() as statements:
            sent = await send_batch(get_database(), EMAIL, ids)
        assert [s.outcome for s in sent] == ["succeeded"] * len(ids)
        measured[invitees] = len(statements)
    # lease and load the batch; the invitations' organizers and the networks' and working
    # groups' names (one read each for the batch; their invitees are external: no entity to
    # look up); record every outcome
    assert measured == {1: 4, 4: 4}
    assert len(smtp.messages) == 2 + 8


async def test_an_smtp_refusal_is_judged_by_its_reply_code():
    refused = smtplib.SMTPRecipientsRefused({"x@example.org": (550, b"no such user")})
    assert EMAIL.classify(refused).verdict == "permanent" and EMAIL.classify(refused).status_code == 550
    greylisted = smtplib.SMTPRecipientsRefused({"x@example.org": (451, b"try later")})
    assert EMAIL.classify(greylisted).verdict == "retry"
    assert EMAIL.classify(smtplib.SMTPDataError(554, b"spam")).verdict == "permanent"
    assert EMAIL.classify(ConnectionRefusedError(111, "refused")).verdict == "retry"
    assert EMAIL.classify(ConnectionRefusedError(111, "refused")).status_code is None


async def test_the_mail_server_answering_again_makes_the_waiting_emails_due_in_order(committed, smtp):  # noqa: F811
    from services.settings import get_settings, use_settings

    await _two_meetings()
    working = get_settings()
    use_settings(working.model_copy(update={"smtp_port": 9}))  # nobody listens: no answer
    try:
        await _relay_and_send()
    finally:
        use_settings(working)
    async with get_database().read() as conn:
        waiting = (await conn.execute(select(EmailDelivery.id).order_by(EmailDelivery.id))).scalars().all()
        email = (await operational_status(conn))["deliveries"]["email"]
    assert (email["waiting_for_retry"], email["pending"]) == (4, 0)
    # One more e-mail, to a server that answers now: the four waiting ones are due at once.
    async with get_database().session() as session:
        await update_meeting(
            session,
            meeting_id=(await session.scalar(select(Meeting.id).limit(1))),
            data=MeetingUpdate(location="Bonn"),
            expected_version=None,
            actor=SYSTEM,
        )
    await _relay_and_send()
    async with get_database().read() as conn:
        due = dict(
            (
                await conn.execute(
                    select(EmailDelivery.id, EmailDelivery.next_attempt_at).where(EmailDelivery.id.in_(waiting))
                )
            ).all()
        )
        now = await conn.scalar(text("SELECT now()"))
    assert all(at <= now for at in due.values())
    assert sorted(due, key=due.get) == list(waiting)  # in the order they were made
    await scheduler.sweep_due_emails()
    await drain(threads=2)
    assert len(smtp.messages) == 4 + 2  # the waiting invitations, and the update's two


# --- webhooks -------------------------------------------------------------------------------


@pytest.fixture
def receivers():
    pair = (Receiver(), Receiver())
    yield pair
    for one in pair:
        one.close()


@pytest.fixture
async def admin(committed):
    headers = {"Authorization": f"Bearer {await committed_admin_key()}"}
    async with AsyncClient(transport=ASGITransport(app=served_app()), base_url="http://t", headers=headers) as client:
        yield client


async def _endpoint(admin, receiver) -> str:
    made = await admin.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["entity.*"]})
    assert made.status_code == 201, made.text
    return made.json()["id"]


async def _entities(admin, *acronyms) -> None:
    for acronym in acronyms:
        made = await admin.post("/v1/entities", json={"acronym": acronym, "name": acronym, "kind": "un_system"})
        assert made.status_code == 201, made.text


async def _waiting(endpoint_id) -> dict:
    async with get_database().read() as conn:
        return dict(
            (
                await conn.execute(
                    select(WebhookDelivery.id, WebhookDelivery.next_attempt_at)
                    .where(WebhookDelivery.endpoint_id == uuid.UUID(endpoint_id))
                    .where(WebhookDelivery.status == DeliveryStatus.PENDING)
                    .order_by(WebhookDelivery.id)
                )
            ).all()
        )


async def test_an_endpoint_answering_again_gets_its_waiting_deliveries_at_once_in_order(admin, receivers):
    back, still_down = receivers
    back.script = [500] * 3
    still_down.script = [500] * 10
    back_id, down_id = await _endpoint(admin, back), await _endpoint(admin, still_down)
    broker.flush_all()
    await _entities(admin, "W1", "W2", "W3")
    await _relay_and_send()
    waiting = await _waiting(back_id)
    assert len(waiting) == 3 and len(await _waiting(down_id)) == 3
    async with get_database().read() as conn:
        now = await conn.scalar(text("SELECT now()"))
        webhook = (await operational_status(conn))["deliveries"]["webhook"]
    assert all(at > now for at in waiting.values()) and webhook["waiting_for_retry"] == 6

    await _entities(admin, "W4")  # `back` answers this one: 200
    await _relay_and_send()
    made_due = await _waiting(back_id)
    async with get_database().read() as conn:
        now = await conn.scalar(text("SELECT now()"))
    assert set(made_due) == set(waiting) and all(at <= now for at in made_due.values())
    assert sorted(made_due, key=made_due.get) == list(waiting)  # in the order they were made
    assert all(at > now for at in (await _waiting(down_id)).values())  # the other endpoint still waits
    await scheduler.sweep_due_deliveries()
    await drain(threads=2)
    assert await _waiting(back_id) == {}
    assert len(back.requests) == 3 + 1 + 3


async def test_retry_now_from_the_command_line_for_an_endpoint_and_for_emails(admin, receivers, capsys, tmp_path):
    from services.settings import get_settings, use_settings

    first, second = receivers
    first.script = [503] * 2
    second.script = [503] * 2
    first_id, second_id = await _endpoint(admin, first), await _endpoint(admin, second)
    broker.flush_all()
    await _entities(admin, "R1", "R2")
    await _relay_and_send()
    assert len(await _waiting(first_id)) == len(await _waiting(second_id)) == 2

    await asyncio.to_thread(main, ["deliveries", "retry-now", "--endpoint", first_id, "--json"])
    made_due = json.loads(capsys.readouterr().out)
    assert sorted(made_due["webhook"]) == sorted(str(i) for i in await _waiting(first_id))
    assert made_due["email"] == []
    async with get_database().read() as conn:
        now = await conn.scalar(text("SELECT now()"))
    assert all(at <= now for at in (await _waiting(first_id)).values())
    assert all(at > now for at in (await _waiting(second_id)).values())  # only the endpoint named

    working = get_settings()
    use_settings(working.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 9, "data_dir": tmp_path}))
    try:
        await _two_meetings()
        await _relay_and_send()
    finally:
        use_settings(working)
    await asyncio.to_thread(main, ["deliveries", "retry-now", "--emails"])
    assert "Due now: 0 webhook and 4 e-mail deliveries" in capsys.readouterr().out
    with pytest.raises(SystemExit, match=r"refused: No webhook endpoint"):
        await asyncio.to_thread(main, ["deliveries", "retry-now", "--endpoint", str(uuid.uuid4())])


async def test_status_shows_pending_held_and_waiting_for_both_transports(admin, receivers, capsys):
    from services.delivery.senders import send_webhook
    from worker.events import relay_events

    failing, unsent = receivers
    failing.script = [500]
    failing_id = await _endpoint(admin, failing)
    await _endpoint(admin, unsent)
    async with get_database().session() as session:
        network = await make_network(session)
    starts = datetime.now(UTC) + timedelta(days=3)
    made = await admin.post(
        "/v1/meetings",
        json={
            "network_id": str(network["id"]),
            "kind": "other",
            "title": "Status",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(),
            "time_zone": "UTC",
            "location": "Geneva",
            "invitees": [{"name": "One", "email": "one@example.org"}, {"name": "Two", "email": "two@example.org"}],
        },
    )
    assert made.status_code == 201, made.text
    await _entities(admin, "S1", "S2")
    broker.flush_all()
    await relay_events.fn()  # the deliveries made, their messages left unsent
    broker.flush_all()
    database = get_database()
    webhooks = list(await _waiting(failing_id))
    assert await send_webhook(database, webhooks[0]) == "retrying"  # waits for a retry (500)
    assert len(await lease(database, WEBHOOK, [webhooks[1]])) == 1  # held by a worker still at it
    async with database.read() as conn:
        emails = list((await conn.scalars(select(EmailDelivery.id).order_by(EmailDelivery.id))).all())
    assert len(await lease(database, EMAIL, [emails[0]])) == 1
    async with database.session() as session:  # the other e-mail failed once already
        await session.execute(
            update(EmailDelivery)
            .where(EmailDelivery.id == emails[1])
            .values(attempts=1, next_attempt_at=datetime.now(UTC) + timedelta(minutes=5), last_error="x")
        )

    async with database.read() as conn:
        deliveries = (await operational_status(conn))["deliveries"]
    states = ("pending", "held", "waiting_for_retry", "failed")
    assert {k: [v[s] for s in states] for k, v in deliveries.items()} == {
        "webhook": [4, 1, 1, 0],  # three entities (the network's coordinator too) to two endpoints: 6
        "email": [0, 1, 1, 0],
    }
    with pytest.raises(SystemExit):  # no scheduler has swept: not OK, but it prints
        await asyncio.to_thread(main, ["status"])
    printed = capsys.readouterr().out
    assert "webhooks     4 pending, 1 held by a worker, 1 waiting for a retry, 0 failed" in printed
    assert "emails       0 pending, 1 held by a worker, 1 waiting for a retry, 0 failed" in printed
