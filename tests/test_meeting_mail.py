"""A meeting's e-mails as their recipients read them, received from a real SMTP server and
parsed with the modern e-mail policy: the network, working group and organiser by name, why
each recipient gets it, what an update changed (was → now), the reason a cancellation gives,
plain text and HTML alternatives, no link a person cannot open, and headers that read back
exactly (long, right-to-left, or stored with line breaks). One of each kind is kept in
test-artifacts/ for a person to open."""

import re
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from sqlalchemy import text

from services.database import get_database
from services.meetings.models import MeetingKind
from services.meetings.schemas import AgendaItem, InviteeIn, MeetingCreate, MeetingUpdate
from services.meetings.service import create_meeting, update_meeting
from services.people.schemas import FocalPointCreate, PersonCreate
from services.people.service import appoint_focal_point, create_person
from services.principals import SYSTEM
from services.schemas import single_line
from services.working_groups.models import PostKind
from services.working_groups.schemas import PostCreate, WorkingGroupCreate
from services.working_groups.service import add_post, create_working_group
from tests.browser import artifacts_dir
from tests.factories import make_entity, make_membership, make_network
from tests.test_mail import _cancel_and_send, _relay_and_send, smtp  # noqa: F401 - the fixture

NETWORK = "Regional Network on Migration for Europe"
GROUP = "Returns and reintegration"
ORGANISER = "IOM, the network's secretariat <secretariat@iom.example>"
ARABIC = "اجتماع الشبكة الإقليمية للهجرة في المنطقة العربية: العودة وإعادة الإدماج، الدورة الثانية"


def _received(smtp) -> list[EmailMessage]:  # noqa: F811
    """What the server received, parsed as a mail reader does (RFC 5322 and 6532)."""
    parsed = [message_from_bytes(raw, policy=policy.default) for raw in smtp.raw]
    assert all(isinstance(message, EmailMessage) for message in parsed)
    return parsed  # type: ignore[return-value]


def _bodies(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML alternatives of a message, which must both be there."""
    [alternative] = [part for part in message.walk() if part.get_content_type() == "multipart/alternative"]
    plain, html = (part for part in alternative.iter_parts())
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    return plain.get_content().replace("\r\n", "\n"), html.get_content()


def _to(messages: list[EmailMessage], subject_start: str) -> dict[str, EmailMessage]:
    return {str(m["To"]): m for m in messages if str(m["Subject"]).startswith(subject_start)}


def _keep(kind: str, raw: bytes) -> None:
    (artifacts_dir() / f"meeting-mail-{kind}.eml").write_bytes(raw)


async def _working_group_meeting(starts: datetime, **overrides):
    """A meeting of working group GROUP of NETWORK, whose secretariat is IOM: invited are
    UNHCR (a focal point, and a seat in the group), ILO (no focal point: its contact address)
    and an external stakeholder."""
    async with get_database().session() as session:
        iom = await make_entity(session, acronym="MM-IOM", name="IOM", contact_email="secretariat@iom.example")
        network = await make_network(session, coordinator_id=iom["id"], name=NETWORK)
        unhcr = await make_entity(session, acronym="MM-UNHCR", name="UNHCR", contact_email="registry@unhcr.example")
        ilo = await make_entity(session, acronym="MM-ILO", name="ILO", contact_email="focal@ilo.example")
        for member in (unhcr, ilo):
            await make_membership(session, network_id=network["id"], entity_id=member["id"])
        person = await create_person(
            session,
            data=PersonCreate(entity_id=unhcr["id"], name="Amira Haddad", email="amira@unhcr.example"),
            actor=SYSTEM,
        )
        await appoint_focal_point(
            session,
            person_id=person["id"],
            data=FocalPointCreate(entity_id=unhcr["id"], start_date=date(2020, 1, 1)),
            actor=SYSTEM,
        )
        group = await create_working_group(
            session, data=WorkingGroupCreate(network_id=network["id"], name=GROUP, slug="returns"), actor=SYSTEM
        )
        await add_post(
            session,
            group_id=group["id"],
            kind=PostKind.MEMBER,
            data=PostCreate(entity_id=unhcr["id"], start_date=date(2020, 1, 1)),
            actor=SYSTEM,
        )
        data = {
            "network_id": network["id"],
            "working_group_id": group["id"],
            "kind": MeetingKind.WORKING_GROUP,
            "title": "Returns meeting",
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=3),
            "time_zone": "Europe/Zurich",
            "location": "Palais des Nations, Geneva",
            "agenda": [AgendaItem(title="Opening"), AgendaItem(title="Workplan <draft> & budget")],
            "invitees": [
                InviteeIn(entity_id=unhcr["id"]),
                InviteeIn(entity_id=ilo["id"]),
                InviteeIn(name="Migrant Forum", email="mf@example.org"),
            ],
            **overrides,
        }
        return await create_meeting(session, data=MeetingCreate(**data), actor=SYSTEM)


def _local(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


async def test_invitations_updates_and_cancellations_say_what_a_recipient_needs(committed, smtp):  # noqa: F811
    year = datetime.now(UTC).year + 1
    starts = datetime(year, 1, 14, 13, 0, tzinfo=UTC)  # 14:00 in Zurich (winter)
    meeting = await _working_group_meeting(starts)
    await _relay_and_send()
    received = _received(smtp)
    invitations = _to(received, "Invitation")
    # UNHCR is written to at its focal point's address, ILO (no focal point) at its contact's.
    assert sorted(invitations) == ["amira@unhcr.example", "focal@ilo.example", "mf@example.org"]
    _keep("invitation", smtp.raw[received.index(invitations["amira@unhcr.example"])])
    reasons = {
        "amira@unhcr.example": f"You are invited as the focal point of UNHCR, a member of working group {GROUP}.",
        "focal@ilo.example": "You are invited as the contact address of ILO, which has no focal point on record.",
        "mf@example.org": "You are invited as Migrant Forum, by name.",
    }
    for recipient, message in invitations.items():
        assert message["Subject"] == "Invitation: Returns meeting"
        plain, html = _bodies(message)
        assert reasons[recipient] in plain, plain
        assert f"Network: {NETWORK}\nWorking group: {GROUP}\nOrganised by: {ORGANISER}\n" in plain, plain
        assert "When: " + _local(starts) + ", 14:00\u201317:00 Europe/Zurich (13:00\u201316:00 UTC)" in plain
        assert "Where: Palais des Nations, Geneva" in plain and "2. Workplan <draft> & budget" in plain
        # Every reason is the recipient's own: no one reads why another was invited.
        assert all(other not in plain for whom, other in reasons.items() if whom != recipient)
        assert f'<span dir="auto">{NETWORK}</span>' in html
        assert '<li><span dir="auto">Workplan &lt;draft&gt; &amp; budget</span></li>' in html  # escaped, never markup
        assert "IOM, the network&#x27;s secretariat &lt;secretariat@iom.example&gt;" in html
        assert "What changed" not in plain and "Reason given" not in plain
        # The record's API address answers a person's browser with 401: nothing links to it.
        # The links there are open the recipient's own pages of the meeting, without a key.
        assert "/v1/" not in plain and "/v1/" not in html
        links = [word for word in plain.split() if "://" in word]
        assert links and all("/invitations/" in link for link in links), links

    moved = datetime(year, 1, 21, 8, 30, tzinfo=UTC)  # 09:30 in Zurich
    async with get_database().session() as session:
        await update_meeting(
            session,
            meeting_id=meeting["id"],
            data=MeetingUpdate(
                title="Returns and reintegration meeting",
                starts_at=moved,
                ends_at=moved + timedelta(hours=3),
                location="UN City, Copenhagen",
                agenda=[AgendaItem(title="Opening"), AgendaItem(title="Budget")],
            ),
            expected_version=None,
            actor=SYSTEM,
        )
    await _relay_and_send()
    received = _received(smtp)
    updates = _to(received, "Updated invitation")
    assert sorted(updates) == sorted(invitations)
    update = updates["amira@unhcr.example"]
    _keep("update", smtp.raw[received.index(update)])
    assert update["Subject"] == "Updated invitation: Returns and reintegration meeting"
    plain, html = _bodies(update)
    was = f"{_local(starts)}, 14:00\u201317:00 Europe/Zurich"
    now = f"{_local(moved)}, 09:30\u201312:30 Europe/Zurich"
    assert (
        "What changed:\n"
        "  Title: was Returns meeting, now Returns and reintegration meeting\n"
        f"  Time: was {was}, now {now}\n"
        "  Place: was Palais des Nations, Geneva, now UN City, Copenhagen\n"
        "  Agenda: was 1. Opening; 2. Workplan <draft> & budget, now 1. Opening; 2. Budget\n"
    ) in plain, plain
    assert reasons["amira@unhcr.example"] in plain and f"Network: {NETWORK}" in plain
    assert f'was <s dir="auto">{was}</s>, now <strong dir="auto">{now}</strong>' in html

    await _cancel_and_send(meeting["id"], "The host's premises are closed.\nWe will propose a new date.")
    received = _received(smtp)
    cancellations = _to(received, "Cancelled")
    assert sorted(cancellations) == sorted(invitations)
    cancellation = cancellations["focal@ilo.example"]
    _keep("cancellation", smtp.raw[received.index(cancellation)])
    assert cancellation["Subject"] == "Cancelled: Returns and reintegration meeting"
    plain, html = _bodies(cancellation)
    assert "Reason given:\n  The host's premises are closed.\n  We will propose a new date.\n" in plain, plain
    assert "You were invited as the contact address of ILO" in plain and f"Organised by: {ORGANISER}" in plain
    assert "The host&#x27;s premises are closed.<br>We will propose a new date." in html
    assert "What changed" not in plain


async def test_an_update_of_the_invitees_names_who_was_and_who_is_invited(committed, smtp):  # noqa: F811
    meeting = await _working_group_meeting(datetime.now(UTC) + timedelta(days=20))
    [unhcr, ilo, _] = meeting["invitees"]
    async with get_database().session() as session:
        await update_meeting(
            session,
            meeting_id=meeting["id"],
            data=MeetingUpdate(
                invitees=[
                    InviteeIn(entity_id=unhcr["entity"]["id"]),
                    InviteeIn(name="Migrant Forum", email="mf@example.org"),
                    InviteeIn(name="City of Geneva", email="city@example.org"),
                ]
            ),
            expected_version=None,
            actor=SYSTEM,
        )
    await _relay_and_send()
    updates = _to(_received(smtp), "Updated invitation")
    # ILO, no longer invited, is not written to; the others read who was invited and who is.
    assert sorted(updates) == ["amira@unhcr.example", "city@example.org", "mf@example.org"]
    plain, _ = _bodies(updates["city@example.org"])
    assert "  Invitees: was UNHCR, ILO, Migrant Forum, now UNHCR, Migrant Forum, City of Geneva\n" in plain, plain
    assert "You are invited as City of Geneva, by name." in plain and "Time:" not in plain
    assert ilo["entity"]["name"] == "ILO"


async def test_each_of_an_entitys_focal_points_is_told_it_is_one_of_several(committed, smtp):  # noqa: F811
    meeting = await _working_group_meeting(datetime.now(UTC) + timedelta(days=20))
    unhcr_id = meeting["invitees"][0]["entity"]["id"]
    async with get_database().session() as session:
        person = await create_person(
            session, data=PersonCreate(entity_id=unhcr_id, name="Jonas Berg", email="jonas@unhcr.example"), actor=SYSTEM
        )
        await appoint_focal_point(
            session,
            person_id=person["id"],
            data=FocalPointCreate(entity_id=unhcr_id, start_date=date(2021, 1, 1)),
            actor=SYSTEM,
        )
    await _relay_and_send()
    async with get_database().session() as session:
        await update_meeting(
            session,
            meeting_id=meeting["id"],
            data=MeetingUpdate(location="UN City, Copenhagen"),
            expected_version=None,
            actor=SYSTEM,
        )
    await _relay_and_send()
    updates = _to(_received(smtp), "Updated invitation")
    for address in ("amira@unhcr.example", "jonas@unhcr.example"):
        plain, _ = _bodies(updates[address])
        assert f"You are invited as a focal point of UNHCR, a member of working group {GROUP}." in plain, plain


@pytest.mark.parametrize(
    "title",
    [
        ARABIC,
        "Annual meeting of the Regional Network on Migration for Asia and the Pacific: second session, "
        "with the working groups on regular pathways, on returns and on data",
        "Supercalifragilisticexpialidocious-regional-network-annual-meeting-without-a-single-space",
    ],
)
async def test_a_long_or_right_to_left_subject_reads_back_exactly(committed, smtp, title):  # noqa: F811
    await _working_group_meeting(datetime.now(UTC) + timedelta(days=20), title=title)
    await _relay_and_send()
    received = _received(smtp)
    assert len(received) == 3
    for message, raw in zip(received, smtp.raw, strict=True):
        assert message["Subject"] == f"Invitation: {title}"
        # Folded where the header's rules allow, never straight after "Subject:" (a reader
        # would take the fold's space for the subject's first character).
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert re.search(rb"^Subject: \S", head, re.MULTILINE), head
        assert not re.search(rb"^[\w-]+:\r\n", head, re.MULTILINE), head  # no header folded at its colon
        assert all(len(line) <= 78 for line in head.split(b"\r\n")), head
        plain, html = _bodies(message)
        assert f"Meeting: {title}" in plain and f'<span dir="auto">{title}</span>' in html


async def test_a_title_stored_with_line_breaks_or_control_characters_breaks_no_header(committed, smtp):  # noqa: F811
    meeting = await _working_group_meeting(datetime.now(UTC) + timedelta(days=20))
    stored = "Returns\r\nBcc: victim@example.org\x07\x1b[31m meeting\u2028today"
    async with committed.begin() as conn:  # text stored before the text policy, as the event carries it
        await conn.execute(
            text(
                "UPDATE events SET payload = jsonb_set(payload, '{meeting,title}', to_jsonb(CAST(:title AS text))) "
                "WHERE subject_id = :id"
            ),
            {"title": stored, "id": meeting["id"]},
        )
    await _relay_and_send()
    received = _received(smtp)
    assert len(received) == 3
    for message in received:
        assert message["Bcc"] is None  # no header smuggled in
        assert message["Subject"] == f"Invitation: {single_line(stored)}"
        plain, html = _bodies(message)
        assert f"Meeting: {single_line(stored)}\n" in plain
        assert "\x1b" not in plain and "\x07" not in html
