"""One text policy for every stored string (docs/API.md, "Text"): single-line fields refuse
control characters, multi-line fields keep line breaks; and every output (JSON, CSV, HTML,
iCalendar, e-mail) is valid whatever the database holds."""

import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import icalendar
import pytest
from sqlalchemy import select, text

from services.events.models import Event
from services.mail.compose import compose
from services.meetings.models import MeetingKind
from services.meetings.schemas import InviteeIn, MeetingCreate
from services.meetings.service import create_meeting
from services.principals import SYSTEM
from services.schemas import multi_line, single_line
from tests.factories import make_entity, make_membership, make_network
from tests.spreadsheet import csv_records

RTL = "المنظمة الدولية للهجرة"  # right-to-left text
HOSTILE = "Bad\r\nBcc: victim@example.org\x07\u2028END:VCALENDAR\x85"


@pytest.mark.parametrize(
    ("path", "body", "field", "character"),
    [
        ("/v1/entities", {"acronym": "TXT", "name": "Two\nlines", "kind": "un_system"}, "name", "U+000A"),
        ("/v1/entities", {"acronym": "TXT", "name": "Tab\there", "kind": "un_system"}, "name", "U+0009"),
        (
            "/v1/calendar-subscriptions",
            {"name": "Feed\u2028name", "scope": "network", "subject_id": str(uuid.uuid4())},
            "name",
            "U+2028",
        ),
        (
            "/v1/entities",
            {
                "acronym": "TXT",
                "name": "ok",
                "kind": "un_system",
                "identifiers": [{"scheme": "ror", "value": "a\x85b"}],
            },
            "identifiers/0/value",
            "U+0085",
        ),
    ],
)
async def test_a_single_line_field_refuses_control_characters_naming_the_field(client, path, body, field, character):
    response = await client.post(path, json=body)
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["pointer"] == f"#/{field}"
    name = field.rsplit("/", 1)[-1]
    assert error["detail"].startswith(f"{name} contains "), error
    assert f"({character}) at position" in error["detail"]
    assert "single line of text" in error["detail"]


async def test_multi_line_fields_keep_line_breaks_as_lf_and_refuse_other_controls(client, session):
    coordinator = await make_entity(session, acronym="TXT-CO")
    body = {
        "name": f"{RTL} network",
        "scope": "global",
        "established_on": "2020-01-01",
        "description": "First line\r\nsecond\rthird\u2028fourth\twith a tab",
        "coordinator": {"entity_id": str(coordinator["id"]), "mandate_relevance": "a\nb", "capacity": "c"},
    }
    created = await client.post("/v1/networks", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["description"] == "First line\nsecond\nthird\nfourth\twith a tab"
    assert created.json()["name"] == f"{RTL} network"
    refused = await client.post("/v1/networks", json=body | {"description": "bell\x07"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["detail"].startswith("description contains a control character (U+0007)")


async def test_the_longest_field_is_accepted_and_one_more_character_is_not(client, session):
    await make_entity(session, acronym="LONG")
    name = RTL[:10] * 30  # 300 characters, the most a name holds
    assert (
        await client.post("/v1/entities", json={"acronym": "LONG1", "name": name, "kind": "un_system"})
    ).status_code == 201
    too_long = await client.post("/v1/entities", json={"acronym": "LONG2", "name": name + "x", "kind": "un_system"})
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["pointer"] == "#/name"


def test_the_output_helpers_make_any_text_fit():
    assert single_line(HOSTILE) == "Bad  Bcc: victim@example.org  END:VCALENDAR "
    assert multi_line(HOSTILE) == "Bad\nBcc: victim@example.org \nEND:VCALENDAR\n"
    assert single_line(RTL) == RTL and multi_line(RTL) == RTL


@pytest.fixture
async def stored_badly(session, connection):
    """Two meetings and a feed whose text was written straight into the database, past the
    API's checks (as rows from before the policy were)."""
    network = await make_network(session)
    member = await make_entity(session, acronym="TXT-UN", contact_email="focal@txt.example")
    await make_membership(session, network_id=network["id"], entity_id=member["id"])
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    meetings = []
    for n in range(2):
        meetings.append(
            await create_meeting(
                session,
                data=MeetingCreate(
                    network_id=network["id"],
                    kind=MeetingKind.OTHER,
                    title=f"Meeting {n}",
                    starts_at=starts + timedelta(days=n),
                    ends_at=starts + timedelta(days=n, hours=2),
                    time_zone="Europe/Zurich",
                    location="Geneva",
                    invitees=[InviteeIn(entity_id=member["id"]), InviteeIn(name="Guest", email="g@example.org")],
                ),
                actor=SYSTEM,
            )
        )
    await session.flush()
    ids = [m["id"] for m in meetings]
    await connection.execute(
        text(
            "UPDATE meetings SET title = :title || ' ' || :rtl, location = :title, "
            "agenda = jsonb_build_array(jsonb_build_object('title', :title)) WHERE id = ANY(:ids)"
        ),
        {"title": HOSTILE, "rtl": RTL, "ids": ids},
    )
    await connection.execute(text("UPDATE meeting_invitees SET name = :title WHERE name = 'Guest'"), {"title": HOSTILE})
    await connection.execute(
        text(
            "UPDATE events SET payload = jsonb_set(payload, '{meeting,title}', to_jsonb(CAST(:t AS text)))"
            " WHERE subject_id = ANY(:ids) AND type = 'meeting.created'"
        ),
        {"t": HOSTILE, "ids": ids},
    )
    return network, ids


def _valid_calendar(body: bytes) -> icalendar.Calendar:
    calendar = icalendar.Calendar.from_ical(body)  # raises on a broken content line
    for line in body.split(b"\r\n"):
        assert not any(c < 0x20 and c != 0x09 for c in line), line  # no bare control character on the wire
    return calendar


async def test_a_meeting_ics_and_a_feed_are_valid_whatever_is_stored(client, app, stored_badly, connection):
    network, ids = stored_badly
    for meeting_id in ids:
        response = await client.get(f"/v1/meetings/{meeting_id}.ics")
        assert response.status_code == 200, response.text
        (event,) = _valid_calendar(response.content).walk("VEVENT")
        assert str(event["SUMMARY"]) == f"{single_line(HOSTILE)} {RTL}"
        assert str(event["LOCATION"]) == single_line(HOSTILE)
        assert "\n" not in str(event["SUMMARY"])
    made = await client.post(
        "/v1/calendar-subscriptions", json={"name": "Feed", "scope": "network", "subject_id": str(network["id"])}
    )
    assert made.status_code == 201, made.text
    await connection.execute(
        text("UPDATE networks SET name = :name WHERE id = :id"), {"name": HOSTILE, "id": network["id"]}
    )
    feed = await client.get("/v1/calendars/" + made.json()["url"].rsplit("/", 1)[-1])
    assert feed.status_code == 200, feed.text
    calendar = _valid_calendar(feed.content)
    assert str(calendar["X-WR-CALNAME"]) == single_line(HOSTILE)
    assert len(calendar.walk("VEVENT")) == 2


async def test_an_invitation_is_a_valid_message_whatever_is_stored(session, stored_badly):
    _, ids = stored_badly
    events = (
        await session.scalars(select(Event).where(Event.subject_id.in_(ids), Event.type == "meeting.created"))
    ).all()
    assert len(events) == 2
    for event in events:
        message = compose(event, "focal@txt.example", "invitation", record_base_url="https://registry.example")
        wire = message.as_bytes()
        parsed = message_from_bytes(wire, policy=policy.default)
        assert "victim@example.org" not in (parsed["Bcc"] or "")  # no header smuggled in
        assert "\n" not in str(parsed["Subject"])
        body = parsed.get_body(("plain",)).get_content()
        assert "Bad  Bcc: victim@example.org" in body
        ics = next(part for part in parsed.iter_attachments() if part.get_content_type() == "text/calendar")
        _valid_calendar(ics.get_payload(decode=True))


async def test_csv_and_html_carry_line_breaks_and_rtl_text_intact(client, session, connection):
    entity = await make_entity(session, acronym="TXT-CSV", name=RTL)
    network = await make_network(session)
    created = await client.post(
        f"/v1/networks/{network['id']}/memberships",
        json={
            "entity_id": str(entity["id"]),
            "tier": "extended",
            "start_date": "2020-01-01",
            "notes": 'line one\r\nline two, "quoted"',
        },
    )
    assert created.status_code == 201, created.text
    exported = await client.get(f"/v1/networks/{network['id']}/memberships", headers={"Accept": "text/csv"})
    assert exported.status_code == 200
    rows = csv_records(exported.content)
    mine = next(r for r in rows if r["Notes"] and "line one" in r["Notes"])
    assert mine["Notes"] == 'line one\nline two, "quoted"'  # stored with LF, quoted by CSV
    assert RTL in exported.text
    await connection.execute(
        text("UPDATE networks SET name = :name WHERE id = :id"), {"name": HOSTILE + RTL, "id": network["id"]}
    )
    report = await client.get(
        f"/v1/networks/{network['id']}/reports/activity",
        params={"from": "2020-01-01", "to": "2020-12-31"},
        headers={"Accept": "text/html"},
    )
    assert report.status_code == 200, report.text
    assert "\x07" not in report.text and "\x85" not in report.text and "\u2028" not in report.text
    assert RTL in report.text
    assert "Bad\nBcc: victim@example.org" in report.text  # escaped, as multi-line text
