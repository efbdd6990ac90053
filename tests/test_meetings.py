"""Meetings (docs/DOMAIN.md): lifecycle and sequence, reminders, the annual rule, calendar feeds."""

import asyncio
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from sqlalchemy import select

from services.clock import clock
from services.entities.models import EntityKind
from services.errors import Conflict
from services.events.models import Event
from services.meetings.compliance import alert_overdue_networks, meeting_compliance
from services.meetings.models import MeetingKind, MeetingReminder
from services.meetings.schemas import InviteeIn, MeetingCancel, MeetingCreate, MeetingHold, MeetingUpdate
from services.meetings.service import (
    cancel_meeting,
    create_meeting,
    hold_meeting,
    send_due_reminders,
    update_meeting,
)
from services.principals import SYSTEM
from tests.factories import make_entity, make_membership, make_network

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def setting(session):
    clock.freeze(NOW)
    network = await make_network(session, established_on=date(2018, 12, 9))
    member = await make_entity(session, acronym="MT-UN")
    ngo = await make_entity(session, acronym="MT-CSO", kind=EntityKind.CIVIL_SOCIETY, contact_email="cso@example.org")
    await make_membership(session, network_id=network["id"], entity_id=member["id"], start_date=date(2019, 1, 1))
    return network, member, ngo


async def _meeting(
    session, network, *, starts=NOW + timedelta(days=40), kind=MeetingKind.EXTENDED_MEMBERSHIP, invitees=(), **extra
):
    row = await create_meeting(
        session,
        data=MeetingCreate(
            network_id=network["id"],
            kind=kind,
            title=extra.pop("title", "Extended membership meeting"),
            starts_at=starts,
            ends_at=starts + timedelta(hours=3),
            time_zone="Europe/Zurich",
            location="Palais des Nations",
            invitees=list(invitees),
            **extra,
        ),
        actor=SYSTEM,
    )
    await session.flush()
    return row


async def _held(session, network, *, starts, attended, **extra):
    """A meeting of ``network`` that started at ``starts``, held with ``attended`` present."""
    row = await _meeting(
        session, network, starts=starts, invitees=[InviteeIn(entity_id=each["id"]) for each in attended], **extra
    )
    await hold_meeting(
        session,
        meeting_id=row["id"],
        data=MeetingHold(minutes="m", attended_entity_ids=[each["id"] for each in attended]),
        expected_version=None,
        actor=SYSTEM,
    )
    return row


def body(network, **extra):
    return {
        "network_id": str(network["id"]),
        "kind": "extended_membership",
        "title": "Annual meeting",
        "starts_at": "2026-06-10T09:00:00+02:00",
        "ends_at": "2026-06-10T17:00:00+02:00",
        "time_zone": "Europe/Zurich",
        "location": "Geneva",
        "agenda": [{"title": "Opening"}, {"title": "Work plan", "duration_minutes": 90}],
    } | extra


async def test_schedule_a_meeting_with_members_and_stakeholders(client, setting):
    network, member, ngo = setting
    invitees = [
        {"entity_id": str(member["id"])},
        {"entity_id": str(ngo["id"])},
        {"name": "Migrant Forum", "email": "mf@example.org"},
    ]
    created = await client.post("/v1/meetings", json=body(network, invitees=invitees))
    assert created.status_code == 201, created.text
    meeting = created.json()
    assert meeting["status"] == "scheduled" and meeting["sequence"] == 0
    assert [a["title"] for a in meeting["agenda"]] == ["Opening", "Work plan"]
    assert len(meeting["invitees"]) == 3
    assert [r["minutes_before"] for r in meeting["reminders"]] == [43200, 10080, 1440]
    outsider = await client.post(
        "/v1/meetings",
        json=body(
            network,
            invitees=[
                {
                    "entity_id": str(
                        (
                            await client.post(
                                "/v1/entities", json={"acronym": "MT-NOT", "name": "N", "kind": "un_system"}
                            )
                        ).json()["id"]
                    )
                }
            ],
        ),
    )
    assert outsider.json()["type"] == "/problems/invitee-not-a-member"
    for bad in (
        {"time_zone": "Mars/Olympus"},
        {"ends_at": "2026-06-10T08:00:00+02:00"},
        {"location": None},
        {"kind": "working_group"},
        {"starts_at": "2026-06-10T09:00:00"},
    ):
        assert (await client.post("/v1/meetings", json=body(network, **bad))).status_code == 422, bad


async def test_significant_changes_bump_the_sequence_and_move_reminders(client, session, setting):
    network, _, _ = setting
    meeting = await _meeting(session, network)
    url = f"/v1/meetings/{meeting['id']}"
    etag = (await client.get(url)).headers["etag"]
    retitled = await client.patch(url, json={"title": "Renamed"}, headers={"If-Match": etag})
    assert retitled.json()["sequence"] == 0
    moved = await client.patch(
        url,
        json={"starts_at": "2026-05-01T09:00:00+02:00", "ends_at": "2026-05-01T12:00:00+02:00"},
        headers={"If-Match": retitled.headers["etag"]},
    )
    assert moved.json()["sequence"] == 1
    due = {r["minutes_before"]: r["due_at"] for r in moved.json()["reminders"]}
    assert due[1440] == "2026-04-30T07:00:00+00:00"
    cancelled = await client.post(f"{url}/cancel", json={"reason": "Postponed to the autumn."})
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["sequence"] == 2
    assert cancelled.json()["reminders"] == []  # never sent for a cancelled meeting
    assert (await client.post(f"{url}/cancel", json={"reason": "Again."})).json()[
        "type"
    ] == "/problems/meeting-not-scheduled"


async def test_reminders_are_sent_once_each_and_not_for_cancelled_meetings(session, setting):
    network, _, _ = setting
    soon = await _meeting(
        session, network, starts=NOW + timedelta(days=3), reminder_minutes=[7 * 24 * 60, 2 * 24 * 60, 60]
    )
    other = await _meeting(
        session, network, starts=NOW + timedelta(days=3), title="Other", reminder_minutes=[2 * 24 * 60]
    )
    assert [
        r.minutes_before
        for r in (await session.scalars(select(MeetingReminder).where(MeetingReminder.meeting_id == soon["id"]))).all()
    ] == [2880, 60]
    await cancel_meeting(
        session, meeting_id=other["id"], data=MeetingCancel(reason="No quorum."), expected_version=None, actor=SYSTEM
    )
    assert await send_due_reminders(session, now=NOW + timedelta(days=1, hours=1)) == 1
    assert await send_due_reminders(session, now=NOW + timedelta(days=1, hours=2)) == 0  # exactly once
    assert await send_due_reminders(session, now=NOW + timedelta(days=3)) == 1
    await session.flush()
    sent = (await session.scalars(select(Event.payload).where(Event.type == "meeting.reminder_due"))).all()
    assert sorted(p["minutes_before"] for p in sent) == [60, 2880]
    assert {p["meeting"]["id"] for p in sent} == {str(soon["id"])}


async def test_two_workers_never_send_one_reminder_twice(committed):
    from services.database import get_database

    database = get_database()
    clock.freeze(NOW)
    async with database.session() as session:
        network = await make_network(session)
        await _meeting(session, network, starts=NOW + timedelta(hours=30), reminder_minutes=[24 * 60])

    async def worker():
        async with database.session() as session:
            return await send_due_reminders(session, now=NOW + timedelta(hours=7))

    assert sorted(await asyncio.gather(worker(), worker(), worker())) == [0, 0, 1]


async def test_holding_a_meeting_records_attendance_and_outcomes(client, session, setting):
    network, member, ngo = setting
    meeting = await _meeting(
        session,
        network,
        starts=NOW - timedelta(hours=4),
        invitees=[InviteeIn(entity_id=member["id"]), InviteeIn(entity_id=ngo["id"])],
    )
    stranger = await make_entity(session, acronym="MT-X")
    url = f"/v1/meetings/{meeting['id']}/hold"
    wrong = await client.post(url, json={"minutes": "Met.", "attended_entity_ids": [str(stranger["id"])]})
    assert wrong.json()["type"] == "/problems/attendee-not-invited"
    held = await client.post(
        url,
        json={
            "minutes": "Met in Geneva.",
            "attended_entity_ids": [str(member["id"])],
            "outcomes": ["Work plan 2026 adopted."],
        },
    )
    assert held.status_code == 200
    attended = {i["entity"]["acronym"]: i["attended"] for i in held.json()["invitees"]}
    assert attended == {"MT-UN": True, "MT-CSO": False}
    future = await _meeting(session, network, starts=NOW + timedelta(days=2), title="Future")
    with pytest.raises(Conflict) as refused:
        await hold_meeting(
            session,
            meeting_id=future["id"],
            data=MeetingHold(minutes="x", attended_entity_ids=[]),
            expected_version=None,
            actor=SYSTEM,
        )
    assert refused.value.kind == "meeting-in-the-future"


async def test_the_annual_rule(client, session, setting):
    network, member, ngo = setting
    url = f"/v1/networks/{network['id']}/meeting-compliance"
    never = (await client.get(url)).json()
    assert never["last_met_on"] is None and never["state"] == "overdue"  # established in 2018, never met
    # Held last May with a stakeholder present: due by next May.
    await _held(session, network, starts=datetime(2025, 5, 20, 8, tzinfo=UTC), attended=[member, ngo])
    # Held with UN entities only: does not count ("together with other stakeholders").
    await _held(session, network, starts=datetime(2025, 11, 20, 8, tzinfo=UTC), attended=[member], title="UN only")
    await session.flush()
    state = (await client.get(url)).json()
    assert state["last_met_on"] == "2025-05-20" and state["due_by"] == "2026-05-20"
    assert state["state"] == "at_risk" and state["next_scheduled_on"] is None  # 80 days left, nothing scheduled
    await _meeting(session, network, starts=datetime(2026, 6, 2, 8, tzinfo=UTC), title="Too late")
    state = (await client.get(url)).json()
    assert (
        state["next_scheduled_on"] == "2026-06-02"
        and not state["next_within_12_months"]
        and state["state"] == "at_risk"
    )
    await _meeting(session, network, starts=datetime(2026, 5, 12, 8, tzinfo=UTC), title="In time")
    state = (await client.get(url)).json()
    assert state["next_scheduled_on"] == "2026-05-12" and state["next_within_12_months"] and state["state"] == "ok"
    assert (await meeting_compliance(session, network["id"], today=date(2026, 5, 21)))["state"] == "overdue"


async def test_an_overdue_network_is_alerted_once_per_lapse(session, setting):
    network, _, _ = setting
    assert await alert_overdue_networks(session, today=date(2026, 3, 1)) >= 1
    assert await alert_overdue_networks(session, today=date(2026, 3, 2)) == 0
    await session.flush()
    alerts = (
        await session.scalars(
            select(Event.type).where(Event.type == "network.meeting_overdue", Event.subject_id == network["id"])
        )
    ).all()
    assert alerts == ["network.meeting_overdue"]


async def test_calendar_feeds_parse_and_carry_uid_sequence_status_and_time_zone(client, session, setting):
    network, _, _ = setting
    from services.working_groups.schemas import WorkingGroupCreate
    from services.working_groups.service import create_working_group

    group = await create_working_group(
        session, data=WorkingGroupCreate(network_id=network["id"], name="Data", slug="data"), actor=SYSTEM
    )
    kept = await _meeting(session, network, title="Kept", agenda=[{"title": "Opening"}])
    dropped = await _meeting(session, network, title="Dropped")
    await _meeting(session, network, kind=MeetingKind.WORKING_GROUP, working_group_id=group["id"], title="Data WG")
    await cancel_meeting(
        session, meeting_id=dropped["id"], data=MeetingCancel(reason="Clash."), expected_version=None, actor=SYSTEM
    )
    await session.flush()
    feeds = {
        "meeting": await client.get(f"/v1/meetings/{kept['id']}.ics"),
        "network": await client.get(f"/v1/networks/{network['id']}/calendar.ics"),
        "group": await client.get(f"/v1/working-groups/{group['id']}/calendar.ics"),
    }
    for response in feeds.values():
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/calendar")
    network_cal = icalendar.Calendar.from_ical(feeds["network"].content)
    events = {str(e["SUMMARY"]): e for e in network_cal.walk("VEVENT")}
    assert set(events) == {"Kept", "Dropped", "Data WG"}
    assert str(events["Kept"]["UID"]) == f"{kept['id']}@migration-network-registry"
    assert str(events["Dropped"]["STATUS"]) == "CANCELLED" and int(events["Dropped"]["SEQUENCE"]) == 1
    assert events["Kept"]["DTSTAMP"].dt.tzinfo is not None and events["Kept"]["DTSTAMP"].dt.utcoffset() == timedelta(0)
    assert events["Kept"]["DTSTART"].params["TZID"] == "Europe/Zurich"
    assert str(events["Kept"]["URL"]).endswith(f"/v1/meetings/{kept['id']}")
    assert [str(tz["TZID"]) for tz in network_cal.walk("VTIMEZONE")] == ["Europe/Zurich"]
    group_cal = icalendar.Calendar.from_ical(feeds["group"].content)
    assert [str(e["SUMMARY"]) for e in group_cal.walk("VEVENT")] == ["Data WG"]
    single = icalendar.Calendar.from_ical(feeds["meeting"].content)
    assert [str(e["UID"]) for e in single.walk("VEVENT")] == [str(events["Kept"]["UID"])]


async def test_a_working_group_records_the_meeting_that_established_it(client, session, setting):
    network, _, _ = setting
    conference = await _meeting(
        session,
        network,
        kind=MeetingKind.FRAMING_CONFERENCE,
        starts=NOW - timedelta(days=400),
        title="Framing conference",
    )
    other_network = await make_network(
        session, scope="regional", region="ECE", parent_network_id=network["id"], name="Regional"
    )
    elsewhere = await _meeting(session, other_network, title="Elsewhere")
    body = {
        "network_id": str(network["id"]),
        "name": "Data",
        "slug": "data",
        "established_by_meeting_id": str(conference["id"]),
    }
    created = await client.post("/v1/working-groups", json=body)
    assert created.status_code == 201 and created.json()["established_by_meeting_id"] == str(conference["id"])
    wrong = await client.post(
        "/v1/working-groups", json=body | {"slug": "data-2", "established_by_meeting_id": str(elsewhere["id"])}
    )
    assert wrong.json()["type"] == "/problems/meeting-of-another-network"


async def test_external_invitees_addresses_are_for_admins_only(client, make_client, session, setting):
    network, member, _ = setting
    meeting = await _meeting(
        session,
        network,
        invitees=[InviteeIn(entity_id=member["id"]), InviteeIn(name="Migrant Forum", email="mf@example.org")],
    )
    admin_view = (await client.get(f"/v1/meetings/{meeting['id']}")).json()
    assert "mf@example.org" in {i["email"] for i in admin_view["invitees"]}
    reader = await make_client("reader")
    for response in (await reader.get(f"/v1/meetings/{meeting['id']}"), await reader.get("/v1/meetings")):
        assert response.status_code == 200
        assert "mf@example.org" not in response.text
        assert "Migrant Forum" in response.text  # who is invited stays visible


async def test_an_update_of_the_invitees_records_the_list_it_replaced(session, setting):
    network, member, ngo = setting
    meeting = await _meeting(session, network, invitees=[InviteeIn(entity_id=member["id"])])
    await update_meeting(
        session,
        meeting_id=meeting["id"],
        data=MeetingUpdate(
            invitees=[InviteeIn(entity_id=ngo["id"]), InviteeIn(name="Migrant Forum", email="mf@example.org")]
        ),
        expected_version=None,
        actor=SYSTEM,
    )
    event = await session.scalar(
        select(Event).where(Event.subject_id == meeting["id"], Event.type == "meeting.updated")
    )
    assert event is not None
    # The updated invitation tells its readers who was invited before, not only who is now.
    assert event.payload["changes"]["invitees"] == {
        "before": [{"entity_id": str(member["id"]), "name": None, "email": None}],
        "after": [
            {"entity_id": str(ngo["id"]), "name": None, "email": None},
            {"entity_id": None, "name": "Migrant Forum", "email": "mf@example.org"},
        ],
    }


async def test_the_sweep_judges_every_network_as_the_compliance_route_does(session, setting):
    from services.meetings.compliance import every_network_compliance
    from services.networks.models import NetworkScope

    network, member, ngo = setting
    other = await make_network(
        session,
        scope=NetworkScope.COUNTRY,
        country_code="FR",
        parent_network_id=network["id"],
        name="Never met",
        established_on=date(2025, 9, 1),
    )

    async def agree() -> None:
        for today in (date(2025, 6, 1), date(2026, 3, 1), date(2026, 5, 21), date(2026, 9, 2)):
            swept = {c["network_id"]: c for c in await every_network_compliance(session, today=today)}
            for each in (network, other):
                assert swept[each["id"]] == await meeting_compliance(session, each["id"], today=today), today

    await agree()
    await _held(session, network, starts=datetime(2025, 5, 20, 8, tzinfo=UTC), attended=[member, ngo])
    await _meeting(session, network, starts=datetime(2026, 5, 12, 8, tzinfo=UTC), title="In time")
    await _meeting(session, other, starts=datetime(2026, 10, 1, 8, tzinfo=UTC), title="Late")
    await session.flush()
    await agree()
