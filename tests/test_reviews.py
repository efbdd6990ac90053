"""Effectiveness reviews (docs/DOMAIN.md): the policy, cycles opened by the scheduler on
time and exactly once, the lifecycle with indicator snapshots, recommendations and their
follow-up (reminders, overdue, carried over to the next cycle)."""

import asyncio
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from services.clock import add_months, clock
from services.events.models import Event
from services.memberships.models import MembershipTier
from services.networks.models import NetworkScope
from services.principals import SYSTEM
from services.reviews.models import Review, ReviewPolicy
from services.reviews.schemas import ReviewPolicyIn
from services.reviews.service import open_due_cycles, put_policy, remind_and_mark_overdue
from tests.factories import make_entity, make_membership, make_network
from tests.stub_worker import drain


def at(day: date) -> None:
    clock.freeze(datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC))


@pytest.fixture
async def network(session):
    at(date(2026, 11, 1))
    coordinator = await make_entity(session, acronym="RV-IOM", contact_email="sec@iom.example")
    network = await make_network(session, coordinator_id=coordinator["id"])
    lead = await make_entity(session, acronym="RV-DESA", contact_email="review@desa.example")
    owner = await make_entity(session, acronym="RV-ILO", contact_email="focal@ilo.example")
    await make_membership(session, network_id=network["id"], entity_id=lead["id"], tier=MembershipTier.EXTENDED)
    await make_membership(session, network_id=network["id"], entity_id=owner["id"], tier=MembershipTier.EXTENDED)
    return network, lead, owner


async def _policy(session, network, lead, *, first_due=date(2027, 3, 1), lead_time=60, offsets=(30, 7), cadence=12):
    row, _ = await put_policy(
        session,
        network_id=network["id"],
        data=ReviewPolicyIn(
            cadence_months=cadence,
            lead_time_days=lead_time,
            reminder_offsets_days=list(offsets),
            lead_entity_id=lead["id"],
            first_due_date=first_due,
        ),
        actor=SYSTEM,
        expected_version=None,
    )
    return row


async def _cycles(session, network) -> list[tuple[int, date, date]]:
    rows = await session.execute(
        select(Review.number, Review.period_start, Review.due_date)
        .where(Review.network_id == network["id"])
        .order_by(Review.number)
    )
    return [tuple(r) for r in rows]


async def _events(session, type_: str) -> int:
    await session.flush()  # the sessions do not autoflush
    return await session.scalar(select(func.count()).select_from(Event).where(Event.type == type_))


def test_months_are_added_calendar_wise():
    assert add_months(date(2027, 3, 1), 12) == date(2028, 3, 1)
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2027, 11, 15), 3) == date(2028, 2, 15)
    assert add_months(date(2028, 3, 1), -12) == date(2027, 3, 1)


async def test_policy_is_put_read_and_validated(client, session, network):
    network, lead, _owner = network
    url = f"/v1/networks/{network['id']}/review-policy"
    assert (await client.get(url)).json()["type"] == "/problems/review-policy-not-found"
    body = {"lead_entity_id": str(lead["id"]), "first_due_date": "2027-03-01"}
    blind = await client.put(url, json=body, headers={"If-Match": '"1"'})  # a version of nothing
    assert blind.status_code == 409 and blind.json()["type"] == "/problems/no-review-policy"
    created = await client.put(url, json=body)
    assert created.status_code == 201, created.text
    policy = created.json()
    assert (policy["cadence_months"], policy["lead_time_days"], policy["reminder_offsets_days"]) == (12, 90, [30, 7])
    assert policy["lead_entity"]["acronym"] == "RV-DESA"
    assert (policy["next_due_date"], policy["next_opens_on"]) == ("2027-03-01", "2026-12-01")
    assert (await client.get(url)).json() == policy

    stale = await client.put(url, json={**body, "cadence_months": 6}, headers={"If-Match": '"99"'})
    assert stale.status_code == 412
    updated = await client.put(
        url,
        json={**body, "cadence_months": 6, "reminder_offsets_days": [7, 60]},
        headers={"If-Match": created.headers["etag"]},
    )
    assert updated.status_code == 200 and updated.json()["reminder_offsets_days"] == [60, 7]
    # PUT replaces the whole policy: what is left out takes its default again.
    replaced = await client.put(url, json=body, headers={"If-Match": updated.headers["etag"]})
    assert (replaced.json()["cadence_months"], replaced.json()["reminder_offsets_days"]) == (12, [30, 7])
    same = await client.put(url, json=body)
    assert same.headers["etag"] == replaced.headers["etag"]  # nothing changed, nothing recorded
    assert await _events(session, "review_policy.updated") == 2

    outsider = await make_entity(session, acronym="RV-OUT")
    refused = await client.put(url, json={**body, "lead_entity_id": str(outsider["id"])})
    assert refused.status_code == 409 and refused.json()["type"] == "/problems/not-a-network-member"
    early = await client.put(url, json={**body, "first_due_date": "2018-01-01"})
    assert early.status_code == 422 and early.json()["type"] == "/problems/due-before-network"
    for bad in (
        {**body, "cadence_months": 0},
        {**body, "reminder_offsets_days": [7, 7]},
        {"first_due_date": "2027-03-01"},
    ):
        assert (await client.put(url, json=bad)).status_code == 422
    missing = await client.put("/v1/networks/01a22341-9239-7b2b-9dde-3048fb1fc76d/review-policy", json=body)
    assert missing.status_code == 404


async def test_the_scheduler_opens_each_cycle_when_due_and_once(session, network):
    network, lead, _ = network
    await _policy(session, network, lead, first_due=date(2027, 3, 1), lead_time=60)
    at(date(2026, 12, 30))  # the first cycle opens on 2026-12-31 (60 days before it is due)
    assert await open_due_cycles(session, today=clock.today()) == 0
    at(date(2026, 12, 31))
    assert await open_due_cycles(session, today=clock.today()) == 1
    assert await open_due_cycles(session, today=clock.today()) == 0
    assert await _cycles(session, network) == [(1, date(2026, 3, 1), date(2027, 3, 1))]
    assert await _events(session, "review.scheduled") == 1

    # Down from January 2027 to February 2029: the two cycles missed are opened late, in order.
    at(date(2029, 2, 1))
    assert await open_due_cycles(session, today=clock.today()) == 2
    assert await _cycles(session, network) == [
        (1, date(2026, 3, 1), date(2027, 3, 1)),
        (2, date(2027, 3, 1), date(2028, 3, 1)),
        (3, date(2028, 3, 1), date(2029, 3, 1)),
    ]
    policy = await session.scalar(select(ReviewPolicy).where(ReviewPolicy.network_id == network["id"]))
    assert policy.next_due_date == date(2030, 3, 1)


async def test_a_new_cadence_moves_the_next_due_date_and_first_due_date_then_stays(client, session, network):
    network, lead, _ = network
    await _policy(session, network, lead, first_due=date(2027, 3, 1), lead_time=60)
    at(date(2027, 1, 1))
    await open_due_cycles(session, today=clock.today())
    url = f"/v1/networks/{network['id']}/review-policy"
    body = {"lead_entity_id": str(lead["id"]), "first_due_date": "2027-03-01", "cadence_months": 6}
    assert (await client.put(url, json=body)).json()["next_due_date"] == "2027-09-01"
    moved = await client.put(url, json={**body, "first_due_date": "2027-06-01"})
    assert moved.status_code == 409 and moved.json()["type"] == "/problems/review-cycles-exist"


async def test_two_schedulers_open_each_cycle_exactly_once(committed):
    """Two scheduler instances (leader election) and, behind them, two sweeps racing on the
    same policies without the leader lock: every due cycle exists once."""
    from services.database import get_database
    from worker import scheduler

    database = get_database()
    async with database.session() as session:
        at(date(2026, 11, 1))
        networks: list = []
        for n in range(3):
            lead = await make_entity(session, acronym=f"RV2-{n}")
            regional = {"scope": NetworkScope.REGIONAL, "region": "ECA", "parent_network_id": networks[0]} if n else {}
            net = await make_network(session, coordinator_id=lead["id"], name=f"Network {n}", **regional)
            await _policy(session, net, lead, first_due=date(2027, 3, 1), lead_time=60, cadence=3)
            networks.append(net["id"])

    async def sweep() -> None:
        async with database.session() as session:
            await open_due_cycles(session, today=clock.today())

    at(date(2028, 1, 15))  # due: 2027-03-01, 06-01, 09-01, 12-01 and 2028-03-01 (opens 2027-12-31)
    stops = {name: asyncio.Event() for name in ("a", "b")}
    tasks = [asyncio.create_task(scheduler.run_scheduler(stop, interval=0.02, sweep=sweep)) for stop in stops.values()]
    racing = [asyncio.create_task(sweep()) for _ in range(4)]
    await asyncio.gather(*racing)
    await asyncio.sleep(0.3)
    for stop in stops.values():
        stop.set()
    await asyncio.gather(*tasks)
    async with database.read() as conn:
        rows = (
            await conn.execute(
                select(Review.network_id, Review.number, Review.due_date).where(Review.network_id.in_(networks))
            )
        ).all()
        scheduled = await conn.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.type == "review.scheduled", Event.network_id.in_(networks))
        )
    expected = [date(2027, 3, 1), date(2027, 6, 1), date(2027, 9, 1), date(2027, 12, 1), date(2028, 3, 1)]
    for network_id in networks:
        assert sorted((n, d) for nid, n, d in rows if nid == network_id) == list(enumerate(expected, start=1))
    assert scheduled == 15


async def test_the_sweep_hands_cycles_to_a_worker(committed):

    from services.database import get_database
    from tests.stub_worker import broker
    from worker import scheduler

    database = get_database()
    async with database.session() as session:
        at(date(2026, 11, 1))
        lead = await make_entity(session, acronym="RV-W")
        net = await make_network(session, coordinator_id=lead["id"])
        await _policy(session, net, lead, first_due=date(2027, 1, 10), lead_time=30)
    broker.flush_all()
    await scheduler.sweep_review_cycles()
    assert broker.queues["default"].qsize() == 1
    at(date(2026, 12, 12))
    await drain()
    async with database.read() as conn:
        assert await conn.scalar(select(Review.due_date).where(Review.network_id == net["id"])) == date(2027, 1, 10)


async def _open_first_cycle(session, network, lead, **policy):
    await _policy(session, network, lead, **policy)
    at(date(2027, 1, 1))
    await open_due_cycles(session, today=clock.today())
    return await session.scalar(select(Review.id).where(Review.network_id == network["id"], Review.number == 1))


async def test_lifecycle_takes_snapshots_and_requires_findings(client, make_client, session, network):
    network, lead, owner = network
    review_id = await _open_first_cycle(session, network, lead)
    url = f"/v1/reviews/{review_id}"
    review = (await client.get(url)).json()
    assert (review["status"], review["start_snapshot"], review["overdue"]) == ("scheduled", None, False)
    assert review["lead_entity"]["acronym"] == "RV-DESA"
    assert (await client.post(f"{url}/complete", json={"findings": "x"})).json()[
        "type"
    ] == "/problems/review-not-in-progress"
    future = await client.post(f"{url}/start", json={"started_on": "2027-02-01"})
    assert future.status_code == 422 and future.json()["type"] == "/problems/date-in-future"

    other = await make_client("focal_point", owner["id"])
    assert (await other.post(f"{url}/start", json={})).status_code == 403
    lead_focal_point = await make_client("focal_point", lead["id"])
    started = await lead_focal_point.post(f"{url}/start", json={"started_on": "2026-12-15"})
    assert started.status_code == 200, started.text
    snapshot = started.json()["start_snapshot"]
    # The snapshot is the indicators as of the start date, and can be recomputed for that day.
    recomputed = (await client.get(f"/v1/networks/{network['id']}/indicators", params={"as_of": "2026-12-15"})).json()
    assert snapshot == recomputed
    assert snapshot["membership"]["extended"] == 2 and snapshot["as_of"] == "2026-12-15"
    assert (await client.post(f"{url}/start", json={})).json()["type"] == "/problems/review-not-scheduled"

    assert (await client.post(f"{url}/complete", json={})).status_code == 422  # findings are required
    assert (await client.post(f"{url}/complete", json={"findings": ""})).status_code == 422
    early = await client.post(f"{url}/complete", json={"findings": "F.", "completed_on": "2026-12-01"})
    assert early.json()["type"] == "/problems/completed-before-started"
    # A member joins before the review completes: the end snapshot sees it, the start one did not.
    newcomer = await make_entity(session, acronym="RV-NEW")
    await make_membership(session, network_id=network["id"], entity_id=newcomer["id"], start_date=date(2026, 12, 20))
    done = await client.post(f"{url}/complete", json={"findings": "The extended tier should meet twice a year."})
    assert done.status_code == 200, done.text
    review = done.json()
    assert (review["status"], review["completed_on"]) == ("completed", "2027-01-01")
    assert review["end_snapshot"]["membership"]["extended"] == 3
    assert review["start_snapshot"]["membership"]["extended"] == 2
    assert review["findings"].startswith("The extended tier")
    assert await _events(session, "review.started") == 1 and await _events(session, "review.completed") == 1
    listed = (await client.get("/v1/reviews", params={"network_id": str(network["id"]), "status": "completed"})).json()
    assert [r["id"] for r in listed["items"]] == [str(review_id)]


async def test_recommendations_are_followed_up_and_carried_over(client, make_client, session, network):
    network, lead, owner = network
    review_id = await _open_first_cycle(session, network, lead)
    recs = f"/v1/reviews/{review_id}/recommendations"
    body = {
        "text": "Convene the extended tier twice a year.",
        "owner_entity_id": str(owner["id"]),
        "due_date": "2027-06-30",
    }
    assert (await client.post(recs, json=body)).json()["type"] == "/problems/review-not-started"
    await client.post(f"/v1/reviews/{review_id}/start", json={})
    outsider = await make_entity(session, acronym="RV-X")
    refused = await client.post(recs, json={**body, "owner_entity_id": str(outsider["id"])})
    assert refused.status_code == 409 and refused.json()["type"] == "/problems/not-a-network-member"
    assert (await client.post(recs, json={**body, "due_date": "2026-01-01"})).json()[
        "type"
    ] == "/problems/due-before-review"
    first = await client.post(recs, json=body)
    assert first.status_code == 201, first.text
    kept = first.json()
    assert (kept["status"], kept["owner_entity"]["acronym"], kept["overdue"]) == ("open", "RV-ILO", False)
    second = (await client.post(recs, json={**body, "text": "Map the regional networks."})).json()
    item = f"{recs}/{second['id']}"

    # The owner's focal point follows it up; another entity's may not.
    owner_fp = await make_client("focal_point", owner["id"])
    stranger = await make_client("focal_point", (await make_entity(session, acronym="RV-S"))["id"])
    assert (await stranger.post(f"{item}/status", json={"status": "in_progress"})).status_code == 403
    progressing = await owner_fp.post(f"{item}/status", json={"status": "in_progress"})
    assert progressing.status_code == 200 and progressing.json()["status"] == "in_progress"
    no_reason = await owner_fp.post(f"{item}/status", json={"status": "dropped"})
    assert no_reason.json()["type"] == "/problems/reason-for-dropped-only"
    with_reason = await owner_fp.post(f"{item}/status", json={"status": "done", "reason": "x"})
    assert with_reason.json()["type"] == "/problems/reason-for-dropped-only"
    backwards = await owner_fp.post(f"{item}/status", json={"status": "open"})
    assert backwards.status_code == 409 and backwards.json()["type"] == "/problems/invalid-transition"
    done = await owner_fp.post(f"{item}/status", json={"status": "done"})
    assert (done.json()["status"], done.json()["status_changed_on"]) == ("done", "2027-01-01")
    assert (await owner_fp.post(f"{item}/status", json={"status": "dropped", "reason": "r"})).status_code == 409
    closed = await client.patch(item, json={"text": "New"}, headers={"If-Match": done.headers["etag"]})
    assert closed.status_code == 409 and closed.json()["type"] == "/problems/recommendation-closed"
    assert (await client.get(recs, params={"status": "done"})).json()["items"][0]["id"] == second["id"]

    await client.post(f"/v1/reviews/{review_id}/complete", json={"findings": "F."})
    assert (await client.get(f"/v1/reviews/{review_id}")).json()["recommendations"] == {
        "open": 1,
        "in_progress": 0,
        "done": 1,
        "dropped": 0,
    }
    # The next cycle lists what is still open from this one.
    at(date(2028, 1, 1))
    await open_due_cycles(session, today=clock.today())
    next_id = await session.scalar(select(Review.id).where(Review.network_id == network["id"], Review.number == 2))
    following = (await client.get(f"/v1/reviews/{next_id}")).json()
    assert set(following["recommendations"].values()) == {0}  # its own: none yet
    carried = following["carried_over"]
    assert [(c["id"], c["review_number"], c["status"], c["overdue"]) for c in carried] == [
        (kept["id"], 1, "open", True)
    ]


async def test_reminders_go_once_per_offset_and_overdue_once(client, session, network):
    from services.mail.compose import compose, recipients_for

    network, lead, owner = network
    review_id = await _open_first_cycle(session, network, lead, offsets=(30, 7))  # due 2027-03-01
    await client.post(f"/v1/reviews/{review_id}/start", json={})
    rec = (
        await client.post(
            f"/v1/reviews/{review_id}/recommendations",
            json={"text": "Publish the work plan.", "owner_entity_id": str(owner["id"]), "due_date": "2027-02-15"},
        )
    ).json()

    async def sweep(day: date) -> dict[str, int]:
        at(day)
        return await remind_and_mark_overdue(session, today=day)

    assert await sweep(date(2027, 1, 15)) == {"reminded": 0, "overdue": 0}
    assert await sweep(date(2027, 1, 16)) == {"reminded": 1, "overdue": 0}  # the recommendation, 30 days out
    assert await sweep(date(2027, 1, 16)) == {"reminded": 0, "overdue": 0}
    # The scheduler was down from 29 January to 25 February: the review gets one reminder, not two.
    assert await sweep(date(2027, 2, 25)) == {"reminded": 1, "overdue": 1}  # the recommendation is past due
    assert await sweep(date(2027, 2, 26)) == {"reminded": 0, "overdue": 0}
    assert await _events(session, "review.reminder_due") == 1
    assert await _events(session, "recommendation.reminder_due") == 1
    overdue_rec = (await client.get(f"/v1/reviews/{review_id}/recommendations/{rec['id']}")).json()
    assert (overdue_rec["overdue"], overdue_rec["overdue_since"]) == (True, "2027-02-25")

    # A new due date for the recommendation: reminded and overdue again, for that date.
    etag = (await client.get(f"/v1/reviews/{review_id}/recommendations/{rec['id']}")).headers["etag"]
    moved = await client.patch(
        f"/v1/reviews/{review_id}/recommendations/{rec['id']}",
        json={"due_date": "2027-03-20"},
        headers={"If-Match": etag},
    )
    assert (moved.json()["overdue"], moved.json()["overdue_since"]) == (False, None)
    assert await sweep(date(2027, 2, 27)) == {"reminded": 1, "overdue": 0}
    assert await sweep(date(2027, 3, 2)) == {"reminded": 0, "overdue": 1}  # the review
    assert (await client.get("/v1/reviews", params={"overdue": "true"})).json()["items"][0]["id"] == str(review_id)
    await client.post(f"/v1/reviews/{review_id}/complete", json={"findings": "F."})
    assert (await client.get(f"/v1/reviews/{review_id}")).json()["overdue"] is False
    assert await sweep(date(2027, 3, 25)) == {"reminded": 0, "overdue": 1}  # the recommendation, for its new date

    opened = await session.scalar(select(Event).where(Event.type == "review.scheduled"))
    assert [kind for _, kind in await recipients_for(session, opened)] == ["notice", "notice"]
    notice = compose(opened, "x@example.org", "notice", record_base_url="http://r")
    assert notice["Subject"].startswith("Opened: effectiveness review 1") and "falls due on 1 March 2027" in (
        notice.get_body(("plain",)).get_content()
    )
    reminder = await session.scalar(select(Event).where(Event.type == "review.reminder_due"))
    assert reminder.payload["days_before"] == 4
    assert sorted(await recipients_for(session, reminder)) == [
        ("review@desa.example", "reminder"),
        ("sec@iom.example", "reminder"),
    ]
    assert (
        "falls due on 1 March 2027"
        in compose(reminder, "x@example.org", "reminder", record_base_url="http://r").get_body(("plain",)).get_content()
    )
    lapsed = await session.scalar(select(Event).where(Event.type == "recommendation.overdue"))
    assert await recipients_for(session, lapsed) == [("focal@ilo.example", "alert")]
    assert (
        "Publish the work plan."
        in compose(lapsed, "x@example.org", "alert", record_base_url="http://r").get_body(("plain",)).get_content()
    )
