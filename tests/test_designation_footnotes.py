"""Where a record refers to an area the United Nations names with a designation footnote
(Kosovo, XK), the outputs naming it carry the footnote: the activity report, the e-mails and
the calendar entries of its network. A network of another country carries none."""

import email
import email.policy
import io
import zipfile
from datetime import UTC, datetime, timedelta

import icalendar

from services.database import get_database
from services.meetings.models import MeetingKind
from services.meetings.schemas import InviteeIn, MeetingCreate
from services.meetings.service import create_meeting
from services.networks.models import NetworkScope
from services.principals import SYSTEM
from services.reference.countries import countries
from tests.factories import make_entity, make_membership, make_network
from tests.test_mail import _relay_and_send, smtp  # noqa: F401 - the SMTP server fixture

FOOTNOTE = "References to Kosovo shall be understood to be in the context of Security Council resolution 1244 (1999)."
PERIOD = {"from": "2020-01-01", "to": "2020-12-31"}


def test_the_footnote_is_reference_data():
    assert countries()["XK"].footnote == FOOTNOTE


async def _two_country_networks(session):
    world = await make_network(session)
    kosovo = await make_network(
        session, scope=NetworkScope.COUNTRY, country_code="XK", parent_network_id=world["id"], name="Kosovo network"
    )
    kenya = await make_network(
        session, scope=NetworkScope.COUNTRY, country_code="KE", parent_network_id=world["id"], name="Kenya network"
    )
    return kosovo, kenya


async def test_the_activity_report_carries_the_footnote(client, session):
    kosovo, kenya = await _two_country_networks(session)
    url = "/v1/networks/{}/reports/activity"
    assert (await client.get(url.format(kosovo["id"]), params=PERIOD)).json()["footnotes"] == [FOOTNOTE]
    assert (await client.get(url.format(kenya["id"]), params=PERIOD)).json()["footnotes"] == []
    html = await client.get(url.format(kosovo["id"]), params=PERIOD, headers={"Accept": "text/html"})
    assert f'<p class="footnote">{FOOTNOTE}</p>' in html.text
    plain = await client.get(url.format(kenya["id"]), params=PERIOD, headers={"Accept": "text/html"})
    assert "Security Council resolution 1244" not in plain.text
    archive = await client.get(url.format(kosovo["id"]), params=PERIOD, headers={"Accept": "application/zip"})
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert opened.read("footnotes.txt").decode() == FOOTNOTE + "\n"
        assert FOOTNOTE in opened.comment.decode()


async def _meeting(session, network, title):
    return await create_meeting(
        session,
        data=MeetingCreate(
            network_id=network["id"],
            kind=MeetingKind.EXTENDED_MEMBERSHIP,
            title=title,
            starts_at=datetime.now(UTC).replace(microsecond=0) + timedelta(days=5),
            ends_at=datetime.now(UTC).replace(microsecond=0) + timedelta(days=5, hours=3),
            time_zone="Europe/Belgrade",
            location="Pristina" if "Kosovo" in title else "Nairobi",
            invitees=[
                InviteeIn(name="Stakeholder forum", email=f"forum-{network['country_code'].lower()}@example.org")
            ],
        ),
        actor=SYSTEM,
    )


def _text(message) -> str:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    return parsed.get_body(("plain",)).get_content()


def _description(ics: bytes) -> str:
    [event] = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    return str(event.get("DESCRIPTION", ""))


async def test_the_calendar_entries_of_the_networks_meetings_carry_it(client, session):
    kosovo, kenya = await _two_country_networks(session)
    await _meeting(session, kosovo, "Kosovo network meeting")
    await _meeting(session, kenya, "Kenya network meeting")
    feed = await client.get(f"/v1/networks/{kosovo['id']}/calendar.ics")
    assert feed.status_code == 200
    assert _description(feed.content).endswith(FOOTNOTE)
    assert FOOTNOTE not in _description((await client.get(f"/v1/networks/{kenya['id']}/calendar.ics")).content)


async def test_the_e_mails_of_the_networks_meetings_carry_it(committed, smtp):  # noqa: F811
    async with get_database().session() as session:
        kosovo, kenya = await _two_country_networks(session)
        member = await make_entity(session, acronym="FN-UN", contact_email="focal@un.example")
        for network in (kosovo, kenya):
            await make_membership(session, network_id=network["id"], entity_id=member["id"])
        await _meeting(session, kosovo, "Kosovo network meeting")
        await _meeting(session, kenya, "Kenya network meeting")
    await _relay_and_send()
    by_recipient = {m["To"]: m for m in smtp.messages}
    kosovo_mail, kenya_mail = by_recipient["forum-xk@example.org"], by_recipient["forum-ke@example.org"]
    assert _text(kosovo_mail).rstrip().endswith(FOOTNOTE)
    [attachment] = [p for p in kosovo_mail.walk() if p.get_content_type() == "text/calendar"]
    assert _description(attachment.get_payload(decode=True)).endswith(FOOTNOTE)
    assert FOOTNOTE not in _text(kenya_mail)
