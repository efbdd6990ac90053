"""The activity report (docs/DOMAIN.md, "Reports") matches a hand-built history, in JSON, as a zip of
CSV files and as an HTML page; bad periods, unknown networks and unservable Accepts are problems."""

import io
import uuid
import zipfile
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from services.entities.models import EntityKind
from services.events.models import Event
from services.flows.membership_end import end_membership
from services.meetings.models import MeetingKind
from services.meetings.schemas import InviteeIn, MeetingCancel, MeetingCreate, MeetingHold
from services.meetings.service import cancel_meeting, create_meeting, hold_meeting
from services.memberships.models import MembershipTier
from services.memberships.schemas import MembershipEnd, TierChange
from services.memberships.service import change_tier
from services.mous.schemas import AreaIn, MouCreate, MouRefresh, MouSign, MouTerminate
from services.mous.service import create_mou, refresh_mou, sign_mou, submit_mou, terminate_mou
from services.principals import SYSTEM
from services.reports.sections import SECTIONS, flatten
from services.working_groups.models import PostKind
from services.working_groups.schemas import PostCreate, WorkingGroupActivate, WorkingGroupClose, WorkingGroupCreate
from services.working_groups.service import activate_working_group, add_post, close_working_group, create_working_group
from tests.browser import artifacts_dir
from tests.factories import make_entity, make_membership, make_network
from tests.integration.required import required_library
from tests.mou_helpers import make_mou
from tests.spreadsheet import csv_records, csv_table
from tests.test_api_conventions import assert_problem

PERIOD = {"from": "2022-01-01", "to": "2022-12-31"}
MALICIOUS = '<script>alert("pwned")</script> & Co'
UNKNOWN = "00000000-0000-7000-8000-000000000000"
NAMES = {s.name for s in SECTIONS}


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


async def _group(session, network_id, slug, objectives, chair_id, *, activated_on=None, closed=None):
    group = await create_working_group(
        session,
        data=WorkingGroupCreate(network_id=network_id, name=slug.title(), slug=slug, gcm_objectives=objectives),
        actor=SYSTEM,
    )
    if activated_on:
        await add_post(
            session,
            group_id=group["id"],
            kind=PostKind.CHAIR,
            data=PostCreate(entity_id=chair_id, start_date=activated_on),
            actor=SYSTEM,
        )
        await activate_working_group(
            session,
            group_id=group["id"],
            data=WorkingGroupActivate(activated_on=activated_on),
            expected_version=None,
            actor=SYSTEM,
        )
    if closed:
        closed_on, reason = closed
        await close_working_group(
            session,
            group_id=group["id"],
            data=WorkingGroupClose(closed_on=closed_on, reason=reason),
            expected_version=None,
            actor=SYSTEM,
        )
    return group


async def _sign_all(session, mou_id, parties, signed_on):
    for party in parties:
        row = await sign_mou(
            session,
            mou_id=mou_id,
            data=MouSign(
                entity_id=party, signatory_name="A. Signatory", signatory_title="Director", signed_on=signed_on
            ),
            expected_version=None,
            actor=SYSTEM,
        )
    return row


async def _meeting(session, network_id, *, kind, title, starts, invitees, group_id=None):
    return await create_meeting(
        session,
        data=MeetingCreate(
            network_id=network_id,
            kind=kind,
            working_group_id=group_id,
            title=title,
            starts_at=starts,
            ends_at=starts.replace(hour=starts.hour + 2),
            time_zone="Europe/Zurich",
            location="Palais des Nations",
            invitees=invitees,
        ),
        actor=SYSTEM,
    )


async def build_history(session) -> dict[str, Any]:
    """A network with a coordinator (R-IOM, core since 2018-12-09), then around 2022:
    - R-A joined extended 2019-01-01, moved to core 2022-07-01;
    - R-B ("=1+1 Agency") joined extended 2019-01-01, left 2022-03-31;
    - R-C (a malicious name) joined extended 2022-09-01; R-D joins 2023-02-01;
      R-E was a member from 2020-01-01 to 2021-06-30;
    - groups: Returns (objective 21) active since 2020-02-01, Data (2) established 2022-03-01,
      Legacy (3) active since 2020-01-01 and closed 2022-10-15, Old (4) closed 2021-01-01,
      Proposed (5) never activated;
    - MoUs: R/W (lead A, objective 10) in force from 2020 to 2022-02-28; R/X (lead A, 6) signed
      2022-04-01, in force 2022-05-01; R/Y (lead A, 9) terminated 2022-08-01; R/Z (lead IOM, 6)
      refreshed by R/Z2, signed 2022-05-20, in force 2022-06-01;
    - meetings: Returns met 2021-05-10 and 2022-05-10 (A, a civil-society stakeholder and an
      external person invited; A and the stakeholder attended); the extended meeting of
      2022-11-20 was cancelled."""
    iom = await make_entity(session, acronym="R-IOM", name="International Organization for Migration")
    network = await make_network(session, coordinator_id=iom["id"], established_on=date(2018, 12, 9))
    nid = network["id"]
    a = await make_entity(session, acronym="R-A", name="Agency A")
    b = await make_entity(session, acronym="R-B", name="=1+1 Agency")
    c = await make_entity(session, acronym="R-C", name=MALICIOUS)
    d = await make_entity(session, acronym="R-D", name="Agency D")
    e = await make_entity(session, acronym="R-E", name="Agency E")
    ngo = await make_entity(session, acronym="R-CSO", name="Civil society", kind=EntityKind.CIVIL_SOCIETY)
    ma = await make_membership(session, network_id=nid, entity_id=a["id"], start_date=date(2019, 1, 1))
    mb = await make_membership(session, network_id=nid, entity_id=b["id"], start_date=date(2019, 1, 1))
    await make_membership(session, network_id=nid, entity_id=c["id"], start_date=date(2022, 9, 1))
    await make_membership(session, network_id=nid, entity_id=d["id"], start_date=date(2023, 2, 1))
    await make_membership(
        session, network_id=nid, entity_id=e["id"], start_date=date(2020, 1, 1), end_date=date(2021, 6, 30)
    )
    await change_tier(
        session,
        membership_id=ma["id"],
        data=TierChange(
            tier=MembershipTier.CORE, effective_date=date(2022, 7, 1), mandate_relevance="M.", capacity="C."
        ),
        expected_version=None,
        actor=SYSTEM,
    )
    await end_membership(
        session,
        membership_id=mb["id"],
        data=MembershipEnd(end_date=date(2022, 3, 31)),
        expected_version=None,
        actor=SYSTEM,
    )

    returns = await _group(session, nid, "returns", [21], a["id"], activated_on=date(2020, 2, 1))
    await _group(session, nid, "data", [2], a["id"], activated_on=date(2022, 3, 1))
    await _group(
        session, nid, "legacy", [3], a["id"], activated_on=date(2020, 1, 1), closed=(date(2022, 10, 15), "Merged.")
    )
    await _group(session, nid, "old", [4], a["id"], activated_on=date(2019, 6, 1), closed=(date(2021, 1, 1), "Done."))
    await _group(session, nid, "proposed", [5], a["id"])

    await make_mou(
        session,
        network_id=nid,
        parties=[a["id"], iom["id"]],
        objectives=(10,),
        state="signed",
        effective_date=date(2020, 1, 1),
        end_date=date(2022, 2, 28),
        reference="R/W",
    )
    x = await create_mou(
        session,
        data=MouCreate(
            network_id=nid,
            title="Data <b>sharing</b>",
            reference_number="R/X",
            party_entity_ids=[a["id"], iom["id"]],
            effective_date=date(2022, 5, 1),
            areas=[AreaIn(description="Data", gcm_objectives=[6], lead_entity_id=a["id"])],
        ),
        actor=SYSTEM,
    )
    await submit_mou(session, mou_id=x["id"], expected_version=None, actor=SYSTEM)
    await _sign_all(session, x["id"], [a["id"], iom["id"]], date(2022, 4, 1))
    y = await make_mou(
        session, network_id=nid, parties=[a["id"], iom["id"]], objectives=(9,), state="signed", reference="R/Y"
    )
    await terminate_mou(
        session,
        mou_id=y["id"],
        data=MouTerminate(terminated_on=date(2022, 8, 1), reason="Mandate ended."),
        expected_version=None,
        actor=SYSTEM,
    )
    z = await make_mou(
        session, network_id=nid, parties=[iom["id"], a["id"]], objectives=(6,), state="signed", reference="R/Z"
    )
    z2 = await refresh_mou(
        session,
        mou_id=z["id"],
        data=MouRefresh(reference_number="R/Z2", effective_date=date(2022, 6, 1)),
        actor=SYSTEM,
    )
    await submit_mou(session, mou_id=z2["id"], expected_version=None, actor=SYSTEM)
    await _sign_all(session, z2["id"], [iom["id"], a["id"]], date(2022, 5, 20))

    for starts in (at(2021, 5, 10, 8), at(2022, 5, 10, 8)):
        meeting = await _meeting(
            session,
            nid,
            kind=MeetingKind.WORKING_GROUP,
            group_id=returns["id"],
            title=f"Returns {starts.year}",
            starts=starts,
            invitees=[
                InviteeIn(entity_id=a["id"]),
                InviteeIn(entity_id=ngo["id"]),
                InviteeIn(name="Jo Expert", email="jo@example.org"),
            ],
        )
        await hold_meeting(
            session,
            meeting_id=meeting["id"],
            data=MeetingHold(minutes="Minutes.", attended_entity_ids=[a["id"], ngo["id"]]),
            expected_version=None,
            actor=SYSTEM,
        )
    cancelled = await _meeting(
        session,
        nid,
        kind=MeetingKind.EXTENDED_MEMBERSHIP,
        title="Extended membership 2022",
        starts=at(2022, 11, 20, 9),
        invitees=[InviteeIn(entity_id=a["id"]), InviteeIn(entity_id=c["id"])],
    )
    await cancel_meeting(
        session,
        meeting_id=cancelled["id"],
        data=MeetingCancel(reason="Postponed."),
        expected_version=None,
        actor=SYSTEM,
    )
    await session.flush()

    # Every event so far happened "now"; move them out of the period, then place a few.
    await session.execute(
        text("UPDATE events SET occurred_at = '2020-06-01T00:00:00Z' WHERE network_id = :n"), {"n": nid}
    )
    await session.execute(
        text(
            "UPDATE events SET occurred_at = '2022-08-01T12:00:00Z' WHERE network_id = :n AND type = 'mou.terminated'"
        ),
        {"n": nid},
    )
    other = await make_network(session, name="Another network", scope="regional", region="ECE", parent_network_id=nid)
    for network_id, occurred_at in (
        (nid, at(2021, 12, 31, 23, 59, 59)),  # before the first day
        (nid, at(2022, 1, 1)),  # the first instant of the period
        (nid, at(2022, 12, 31, 23, 59, 59)),  # the last second
        (nid, at(2023, 1, 1)),  # after the last day
        (other["id"], at(2022, 6, 1)),  # another network's
    ):
        session.add(
            Event(
                type="test.boundary",
                subject_type="test",
                subject_id=uuid.uuid4(),
                network_id=network_id,
                actor="test",
                payload={},
                occurred_at=occurred_at,
            )
        )
    await session.flush()
    return {"network": network}


@pytest.fixture
async def history(session):
    return await build_history(session)


async def test_the_report_matches_the_history(client, history):
    network_id = history["network"]["id"]
    response = await client.get(f"/v1/networks/{network_id}/reports/activity", params=PERIOD)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    report = response.json()
    assert list(report) == ["network", "period", "generated_at", "footnotes", *(s.name for s in SECTIONS)]
    assert report["network"]["name"] == "United Nations Network on Migration"
    assert report["period"] == {"from": "2022-01-01", "to": "2022-12-31"}

    assert report["membership_changes"] == [
        {
            "date": "2022-03-31",
            "entity_acronym": "R-B",
            "entity_name": "=1+1 Agency",
            "change": "left",
            "tier": None,
            "previous_tier": "extended",
        },
        {
            "date": "2022-07-01",
            "entity_acronym": "R-A",
            "entity_name": "Agency A",
            "change": "tier_changed",
            "tier": "core",
            "previous_tier": "extended",
        },
        {
            "date": "2022-09-01",
            "entity_acronym": "R-C",
            "entity_name": MALICIOUS,
            "change": "joined",
            "tier": "extended",
            "previous_tier": None,
        },
    ]

    over_time = [(r["date"], r["core"], r["extended"]) for r in report["membership_over_time"]]
    month_ends = [
        "2022-01-31", "2022-02-28", "2022-03-31", "2022-04-30", "2022-05-31", "2022-06-30",
        "2022-07-31", "2022-08-31", "2022-09-30", "2022-10-31", "2022-11-30", "2022-12-31",
    ]  # fmt: skip
    # IOM core throughout; A and B extended, B until 03-31, A core from 07-01; C from 09-01.
    assert over_time == list(
        zip(month_ends, [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2], [2, 2, 2, 1, 1, 1, 0, 0, 1, 1, 1, 1], strict=True)
    )

    assert report["working_groups"] == [
        {
            "name": "Data",
            "translations": {},
            "change": "established",
            "activated_on": "2022-03-01",
            "closed_on": None,
            "close_reason": None,
            "meetings_held": 0,
        },
        {
            "name": "Legacy",
            "translations": {},
            "change": "closed",
            "activated_on": "2020-01-01",
            "closed_on": "2022-10-15",
            "close_reason": "Merged.",
            "meetings_held": 0,
        },
        {
            "name": "Returns",
            "translations": {},
            "change": "active",
            "activated_on": "2020-02-01",
            "closed_on": None,
            "close_reason": None,
            "meetings_held": 1,  # not the 2021 meeting
        },
    ]

    assert [(m["date"], m["reference_number"], m["change"], m["parties"], m["detail"]) for m in report["mous"]] == [
        ("2022-02-28", "R/W", "expired", "R-A; R-IOM", None),
        ("2022-04-01", "R/X", "signed", "R-A; R-IOM", None),
        ("2022-05-01", "R/X", "activated", "R-A; R-IOM", None),
        ("2022-05-20", "R/Z2", "signed", "R-A; R-IOM", None),
        ("2022-06-01", "R/Z", "superseded", "R-A; R-IOM", "superseded by R/Z2"),
        ("2022-06-01", "R/Z2", "refreshed", "R-A; R-IOM", "refreshes R/Z"),
        ("2022-08-01", "R/Y", "terminated", "R-A; R-IOM", "Mandate ended."),
    ]
    assert report["mous"][1]["title"] == "Data <b>sharing</b>"

    assert report["meetings"] == [
        {
            "date": "2022-05-10",
            "title": "Returns 2022",
            "kind": "working_group",
            "working_group": "Returns",
            "working_group_translations": {},
            "status": "held",
            "invited": 3,
            "attended": 2,
            "external_participants": 2,  # the stakeholder who came and the person invited by e-mail
        },
        {
            "date": "2022-11-20",
            "title": "Extended membership 2022",
            "kind": "extended_membership",
            "working_group": None,
            "working_group_translations": None,
            "status": "cancelled",
            "invited": 2,
            "attended": None,
            "external_participants": None,
        },
    ]

    assert report["record_changes"] == [
        {"event_type": "mou.terminated", "label": "MoU terminated", "count": 1},
        {"event_type": "test.boundary", "label": "test.boundary", "count": 2},
    ]

    indicators = {r["indicator"]: (r["value_at_start"], r["value_at_end"]) for r in report["indicators"]}
    assert indicators["membership.core"] == (1, 2)
    assert indicators["membership.extended"] == (2, 1)
    assert indicators["working_groups.active"] == (2, 2)  # Returns and Legacy, then Returns and Data
    assert indicators["mous.active"] == (3, 2)  # W, Y, Z; then X, Z2
    for as_of, position in ((PERIOD["from"], 0), (PERIOD["to"], 1)):
        direct = (await client.get(f"/v1/networks/{network_id}/indicators", params={"as_of": as_of})).json()
        assert {name: values[position] for name, values in indicators.items()} == flatten(direct)

    coverage = {r["objective"]: r for r in report["objective_coverage"]}
    assert sorted(coverage) == list(range(1, 24))
    assert coverage[6] | {"title": None} == {
        "objective": 6,
        "title": None,
        "coverage": "contested",  # X led by A and Z2 led by IOM, both in force on 2022-12-31
        "working_groups": 0,
        "mou_areas": 2,
        "working_group_names": None,
        "lead_parties": "R-A; R-IOM",
        "working_group_translations": None,
    }
    assert coverage[2]["coverage"] == "covered" and coverage[2]["working_group_names"] == "Data"
    assert coverage[21]["coverage"] == "covered" and coverage[21]["working_groups"] == 1
    # Closed (3), terminated (9), expired (10) and proposed (5) cover nothing on the last day.
    assert {n for n, r in coverage.items() if r["coverage"] == "uncovered"} == set(range(1, 24)) - {2, 6, 21}
    assert indicators["gcm_objectives.uncovered"][1] == 20 and indicators["gcm_objectives.contested"][1] == 1


async def test_a_period_ending_mid_month_ends_on_its_last_day(client, history):
    network_id = history["network"]["id"]
    report = (
        await client.get(
            f"/v1/networks/{network_id}/reports/activity", params={"from": "2022-03-15", "to": "2022-04-10"}
        )
    ).json()
    assert report["membership_over_time"] == [
        {"date": "2022-03-31", "core": 1, "extended": 2},
        {"date": "2022-04-10", "core": 1, "extended": 1},
    ]
    assert [m["entity_acronym"] for m in report["membership_changes"]] == ["R-B"]
    assert [(g["name"], g["change"]) for g in report["working_groups"]] == [
        ("Data", "active"),  # established on 2022-03-01, before this period
        ("Legacy", "active"),
        ("Returns", "active"),
    ]
    assert [(m["date"], m["reference_number"], m["change"]) for m in report["mous"]] == [
        ("2022-04-01", "R/X", "signed")
    ]
    assert report["meetings"] == [] and report["record_changes"] == []


async def test_the_zip_holds_one_csv_per_section(client, history):
    network_id = history["network"]["id"]
    for accept in ("application/zip", "text/csv"):
        response = await client.get(
            f"/v1/networks/{network_id}/reports/activity", params=PERIOD, headers={"Accept": accept}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/zip"
        assert response.headers["content-disposition"] == (
            f'attachment; filename="activity-report-{network_id}-2022-01-01-2022-12-31.zip"'
        )
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        assert archive.namelist() == [f"{s.name}.csv" for s in SECTIONS]
    changes = csv_table(archive.read("membership_changes.csv"))
    assert changes == [
        ["Date", "Entity acronym", "Entity name", "Change", "Tier", "Previous tier"],  # for people
        ["2022-03-31", "R-B", "'=1+1 Agency", "left", "", "extended"],  # not run as a formula
        ["2022-07-01", "R-A", "Agency A", "tier_changed", "core", "extended"],
        ["2022-09-01", "R-C", MALICIOUS, "joined", "extended", ""],
    ]
    with_fields = await client.get(
        f"/v1/networks/{network_id}/reports/activity",
        params={**PERIOD, "header": "fields"},
        headers={"Accept": "application/zip"},
    )
    archive = zipfile.ZipFile(io.BytesIO(with_fields.content))
    assert (
        csv_table(archive.read("membership_changes.csv"))
        == [
            ["date", "entity_acronym", "entity_name", "change", "tier", "previous_tier"],  # for programs
            *changes[1:],
        ]
    )
    indicators = {r["indicator"]: r for r in csv_records(archive.read("indicators.csv"))}
    assert indicators["membership.core"] == {"indicator": "membership.core", "value_at_start": "1", "value_at_end": "2"}
    assert indicators["annual_meeting_rule.met"]["value_at_end"] in ("yes", "no")
    coverage = csv_records(archive.read("objective_coverage.csv"))
    assert len(coverage) == 23 and coverage[5]["coverage"] == "contested"


async def test_the_html_page_escapes_record_text_and_draws_two_charts(client, history):
    network_id = history["network"]["id"]
    url = f"/v1/networks/{network_id}/reports/activity"
    filled = [name for name, rows in (await client.get(url, params=PERIOD)).json().items() if rows and name in NAMES]
    response = await client.get(url, params=PERIOD, headers={"Accept": "text/html"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    page = response.text
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; Co" in page
    assert "Data &lt;b&gt;sharing&lt;/b&gt;" in page
    assert page.count("<svg") == 2
    # the sections, and a table each that has rows, after the summary and its key figures
    assert page.count("<section id=") == len(SECTIONS) and page.count("<table>") == len(filled) + 1
    summary = page[page.index('id="summary"') : page.index('<section id="membership_changes"')]
    assert "Members in the core tier" in summary and "Needs attention on 31 December 2022" in summary
    # Words, never the codes and names machines read (those stay in the JSON and CSV).
    assert "Changed tier" in page and "Joined" in page
    for code in ("tier_changed", "extended_membership", "membership.core", "mou.signed", "previous_tier"):
        assert code not in page, code
    assert "(1 rows)" not in page and "Network id" not in page
    assert "United Nations Network on Migration" in page and "From 1 January 2022 to 31 December 2022" in page
    assert "@media print" in page
    # A browser's Accept gets the page too.
    browser = await client.get(
        url,
        params=PERIOD,
        headers={"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
    )
    assert browser.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json;q=0.5, text/html", "text/html"),
        ("text/*", "text/html"),
        ("image/png, */*;q=0.1", "application/json"),
    ],
)
async def test_accept_chooses_the_format(client, session, accept, media_type):
    network = await make_network(session)
    headers = {"Accept": accept} if accept else {}
    response = await client.get(f"/v1/networks/{network['id']}/reports/activity", params=PERIOD, headers=headers)
    assert response.status_code == 200 and response.headers["content-type"].split(";")[0] == media_type
    assert response.headers["vary"] == "Accept, Accept-Language"


async def test_what_cannot_be_reported_is_a_problem(client, session):
    network = await make_network(session)
    url = f"/v1/networks/{network['id']}/reports/activity"
    assert_problem(await client.get(url), 422, "validation-error")
    assert_problem(await client.get(url, params={"from": "2022-01-01"}), 422, "validation-error")
    assert_problem(await client.get(url, params={"from": "2022-13-01", "to": "2022-12-31"}), 422, "validation-error")
    assert_problem(await client.get(url, params={"from": "2022-02-01", "to": "2022-01-31"}), 422, "invalid-period")
    assert_problem(await client.get(url, params={"from": "2012-01-01", "to": "2022-01-01"}), 422, "period-too-long")
    assert (await client.get(url, params={"from": "2012-01-02", "to": "2022-01-01"})).status_code == 200  # ten years
    # Outside the registry's one date domain: refused with the parameters, naming the range.
    assert_problem(await client.get(url, params={"from": "0001-01-01", "to": "0001-12-31"}), 422, "validation-error")
    assert_problem(
        await client.get(f"/v1/networks/{UNKNOWN}/reports/activity", params=PERIOD), 404, "network-not-found"
    )
    assert_problem(await client.get(url, params=PERIOD, headers={"Accept": "image/png"}), 406, "not-acceptable")
    assert_problem(await client.get(url, params=PERIOD, headers={"Accept": "text/html;q=0"}), 406, "not-acceptable")


async def test_the_openapi_document_lists_the_four_formats(client):
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/v1/networks/{network_id}/reports/activity"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {
        "application/json",
        "application/zip",
        "text/html",
        "application/pdf",
    }
    assert {"401", "404", "406", "422", "503"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} == {"network_id", "from", "to", "header", "lang"}


async def test_reviews_and_their_recommendations_are_reported(client, session, history):
    from services.reviews.schemas import (
        RecommendationCreate,
        RecommendationStatusChange,
        ReviewComplete,
        ReviewPolicyIn,
        ReviewStart,
    )
    from services.reviews.service import (
        add_recommendation,
        change_recommendation_status,
        complete_review,
        open_due_cycles,
        put_policy,
        start_review,
    )

    network_id = history["network"]["id"]
    acronyms = "SELECT id FROM entities WHERE acronym = :a"
    iom, agency_a = [(await session.execute(text(acronyms), {"a": a})).scalar() for a in ("R-IOM", "R-A")]
    await put_policy(
        session,
        network_id=network_id,
        data=ReviewPolicyIn(lead_entity_id=iom, first_due_date=date(2022, 6, 30), lead_time_days=90),
        actor=SYSTEM,
        expected_version=None,
    )
    assert await open_due_cycles(session, today=date(2022, 5, 1)) == 1
    review_id = (
        await session.execute(text("SELECT id FROM reviews WHERE network_id = :n"), {"n": network_id})
    ).scalar()
    await start_review(
        session, review_id=review_id, data=ReviewStart(started_on=date(2022, 5, 1)), actor=SYSTEM, expected_version=None
    )
    kept, merged = [
        await add_recommendation(
            session,
            review_id=review_id,
            data=RecommendationCreate(text=text_, owner_entity_id=agency_a, due_date=due),
            actor=SYSTEM,
        )
        for text_, due in (
            ("Keep a register of stakeholders.", date(2022, 12, 31)),
            ("Merge Legacy.", date(2022, 9, 30)),
        )
    ]
    await change_recommendation_status(
        session,
        review_id=review_id,
        recommendation_id=merged["id"],
        data=RecommendationStatusChange(status="done", changed_on=date(2022, 9, 15)),
        actor=SYSTEM,
        expected_version=None,
    )
    await complete_review(
        session,
        review_id=review_id,
        data=ReviewComplete(findings="Works.", completed_on=date(2022, 6, 20)),
        actor=SYSTEM,
        expected_version=None,
    )
    await session.flush()
    report = (await client.get(f"/v1/networks/{network_id}/reports/activity", params=PERIOD)).json()
    assert report["reviews"] == [
        {
            "number": 1,
            "reviewed_from": "2021-06-30",
            "due_date": "2022-06-30",
            "lead": "R-IOM",
            "status": "completed",
            "started_on": "2022-05-01",
            "completed_on": "2022-06-20",
            "overdue_since": None,
            "open": 1,
            "in_progress": 0,
            "done": 1,
            "dropped": 0,
        }
    ]
    assert [
        (r["recommendation"], r["owner"], r["status"], r["status_changed_on"]) for r in report["recommendations"]
    ] == [
        ("Merge Legacy.", "R-A", "done", "2022-09-15"),
        ("Keep a register of stakeholders.", "R-A", "open", None),
    ]
    # Two years on, the cycle is history; the recommendation still open is still followed up.
    later = (
        await client.get(
            f"/v1/networks/{network_id}/reports/activity", params={"from": "2024-01-01", "to": "2024-12-31"}
        )
    ).json()
    assert later["reviews"] == []
    assert [r["recommendation"] for r in later["recommendations"]] == ["Keep a register of stakeholders."]
    assert kept["id"] != merged["id"]


async def test_endpoint_key_and_subscription_events_stay_out_of_every_callers_report(make_client, session):
    """Events about webhook endpoints, keys and calendar subscriptions (URLs, owners) are the
    secretariat's and their owners' business: the report, which every role reads, counts none."""
    from datetime import date

    from tests.factories import make_network

    network = await make_network(session)
    integrator = await make_client("integrator")
    created = await integrator.post(
        "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hooks", "event_types": ["*"]}
    )
    assert created.status_code == 201, created.text
    subscribed = await integrator.post(
        "/v1/calendar-subscriptions", json={"name": "Mine", "scope": "network", "subject_id": str(network["id"])}
    )
    assert subscribed.status_code == 201, subscribed.text
    today = date.today().isoformat()
    for role in ("admin", "reader", "integrator"):
        caller = integrator if role == "integrator" else await make_client(role)
        report = await caller.get(f"/v1/networks/{network['id']}/reports/activity", params={"from": today, "to": today})
        assert report.status_code == 200, report.text
        types = {row["event_type"] for row in report.json()["record_changes"]}
        assert "network.created" in types, (role, types)
        assert not {t for t in types if t.split(".")[0] in ("webhook_endpoint", "api_key", "calendar_subscription")}


async def test_the_report_lists_coordinators_and_secretariats_held_in_the_period(client, session, history):
    """R-A (core from 2022-07-01) takes over the secretariat from R-IOM on 2022-08-01; in the
    global Network the coordinator is its secretariat, so the coordinator post changes hands
    the same day."""
    from services.networks.models import PostRole
    from services.networks.posts import appoint_post
    from services.networks.repository import posts_query
    from services.networks.schemas import NetworkPostCreate

    network_id = history["network"]["id"]
    agency_a = (await client.get("/v1/entities", params={"limit": 200})).json()["items"]
    [a] = [e for e in agency_a if e["acronym"] == "R-A"]
    await appoint_post(
        session,
        network_id=network_id,
        data=NetworkPostCreate(
            entity_id=a["id"],
            role=PostRole.SECRETARIAT,
            start_date=date(2022, 8, 1),
            replaces_post_id=(await session.execute(posts_query(network_id=network_id, role=PostRole.SECRETARIAT)))
            .mappings()
            .one()["id"],
        ),
        actor=SYSTEM,
    )
    await session.flush()
    report = (await client.get(f"/v1/networks/{network_id}/reports/activity", params=PERIOD)).json()
    assert [
        (r["role"], r["entity_acronym"], r["start_date"], r["end_date"], r["change"]) for r in report["leadership"]
    ] == [
        ("coordinator", "R-IOM", "2018-12-09", "2022-07-31", "ended"),
        ("coordinator", "R-A", "2022-08-01", None, "appointed"),
        ("secretariat", "R-IOM", "2018-12-09", "2022-07-31", "ended"),
        ("secretariat", "R-A", "2022-08-01", None, "appointed"),
    ]


async def test_the_pdf_is_the_page_on_a4_summary_first(client, history):
    """Accept: application/pdf gives the page laid out by the server; read back with pypdf."""
    required_library("pango-1.0", "lay out the report's PDF (apt-get install libpango-1.0-0 libpangoft2-1.0-0)")
    url = f"/v1/networks/{history['network']['id']}/reports/activity"
    response = await client.get(url, params=PERIOD, headers={"Accept": "application/pdf"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'inline; filename="activity-report-2022-01-01-2022-12-31-en.pdf"'
    pdf = PdfReader(io.BytesIO(response.content))
    assert 2 <= len(pdf.pages) <= 9, len(
        pdf.pages
    )  # 9 with Noto Sans, the sans-serif face once fonts-noto-core is installed
    width, height = (float(v) for v in pdf.pages[0].mediabox.upper_right)
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)  # A4, in mm
    first = pdf.pages[0].extract_text()
    assert "Summary" in first and "Members in the core tier" in first and "Needs attention" in first
    assert "Membership changes" not in first  # the sections start on the next page
    rest = "\n".join(page.extract_text() for page in pdf.pages[1:])
    assert "Membership changes" in rest and "GCM objective coverage" in rest
    assert 'alert("pwned")' in rest  # record text is text, in the PDF as in the page
    (artifacts_dir() / "activity-report.pdf").write_bytes(response.content)
