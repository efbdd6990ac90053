"""Property tests of the registry's date arithmetic over its whole date domain: every date and
time the API accepts can be computed with, in every zone, without overflow or a 500 later."""

import uuid
import zoneinfo
from datetime import UTC, date, datetime, timedelta, timezone

import icalendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from services.clock import add_months
from services.dates import DATE_MAX, DATE_MIN, RegistryDate, RegistryDateTime
from services.meetings.calendar import calendar_for
from services.mous.service import review_due

EXAMPLES = settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
ZONES = sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})
# Zones whose clocks change, and the ones furthest from UTC.
DST_ZONES = ["Europe/Zurich", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Tehran"]
EDGE_ZONES = ["Pacific/Kiritimati", "Etc/GMT+12", "Pacific/Pago_Pago", "Asia/Kathmandu"]

registry_dates = st.dates(min_value=DATE_MIN, max_value=DATE_MAX)
# Any instant written with a registry date and an RFC 3339 offset (whole minutes, -12:00 to +14:00).
registry_times = st.builds(
    lambda local, minutes: local.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2999, 12, 31, 23, 59, 59)),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
DATE = TypeAdapter(RegistryDate)
TIME = TypeAdapter(RegistryDateTime)
MAX_REMINDER = timedelta(minutes=366 * 24 * 60)  # the largest reminder_minutes a meeting takes


@EXAMPLES
@given(registry_dates)
def test_a_mou_review_falls_due_inside_the_domain(effective):
    due = review_due(effective)
    assert due is not None and effective <= due <= DATE_MAX


@EXAMPLES
@given(registry_dates, st.integers(min_value=-120, max_value=120))
def test_cycles_and_annual_rules_move_by_months_without_overflow(day, months):
    moved = add_months(day, months)
    assert abs((moved.year * 12 + moved.month) - (day.year * 12 + day.month + months)) == 0
    assert moved.day <= day.day


@EXAMPLES
@given(registry_dates)
def test_every_registry_date_is_accepted_as_text_and_never_as_a_number(day):
    assert DATE.validate_python(day.isoformat()) == day
    with pytest.raises(ValidationError):
        DATE.validate_python(day.toordinal())


@EXAMPLES
@given(registry_times, st.sampled_from(DST_ZONES + EDGE_ZONES) | st.sampled_from(ZONES))
def test_any_accepted_time_makes_reminders_and_a_calendar_in_any_zone(moment, zone):
    accepted = TIME.validate_python(moment.isoformat())
    assert accepted == moment and accepted.tzinfo == UTC
    # Reminders are instants before the start, whatever the clocks do in between.
    due = accepted - MAX_REMINDER
    assert accepted - due == MAX_REMINDER and due.year >= DATE_MIN.year - 2
    row = {
        "id": uuid.uuid4(),
        "time_zone": zone,
        "updated_at": accepted,
        "sequence": 0,
        "title": "Extended tier",
        "starts_at": accepted,
        "ends_at": accepted + timedelta(hours=1),
        "status": "scheduled",
        "location": "Geneva",
        "online_url": None,
        "agenda": [],
        "cancel_reason": None,
    }
    ics = calendar_for([row], name="Network", record_url=lambda r: "https://registry.example/v1/meetings/x")
    (event,) = icalendar.Calendar.from_ical(ics).walk("VEVENT")
    assert event.decoded("dtstart") == accepted.replace(microsecond=0)  # the same instant, in its zone
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(hours=1)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00Z", "9999-12-31T23:00:00Z", "1899-12-31T23:59:59+14:00"])
def test_times_outside_the_domain_are_refused(text):
    with pytest.raises(ValidationError, match="1900-01-01 and 2999-12-31"):
        TIME.validate_python(text)


def test_the_domain_edges_are_inside():
    assert DATE.validate_python("1900-01-01") == date(1900, 1, 1)
    assert DATE.validate_python("2999-12-31") == date(2999, 12, 31)
    assert TIME.validate_python("2999-12-31T23:59:59-12:00").year == 3000


# --- who was a member on a day, in PostgreSQL, over the whole domain ------------------------

# Two periods of one entity in one network, the first ended, with a gap: a <= b < b + 1 < c.
_histories = (
    st.tuples(registry_dates, registry_dates, registry_dates, st.booleans())
    .map(lambda t: (*sorted(t[:3]), t[3]))
    .filter(lambda t: t[1] + timedelta(days=1) < t[2])
)


async def _members_on(url: str, history: tuple[date, date, date, bool], days: list[date]) -> dict[date, bool]:
    """Records the history (in a transaction rolled back afterwards) and asks, for each day,
    whether the as-of query lists the entity."""
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from services.database import async_database_url, json_dumps
    from services.memberships.repository import PeriodFilter, list_membership_rows
    from services.pagination import PageRequest
    from tests.factories import make_entity, make_membership, make_network

    first_start, first_end, second_start, open_ended = history
    engine = create_async_engine(async_database_url(url), json_serializer=json_dumps)
    try:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            session = AsyncSession(bind=conn, join_transaction_mode="create_savepoint", autoflush=False)
            network = await make_network(session, established_on=DATE_MIN)
            entity = await make_entity(session, acronym=f"P{uuid.uuid4().hex[:8]}")
            await make_membership(
                session, network_id=network["id"], entity_id=entity["id"], start_date=first_start, end_date=first_end
            )
            await make_membership(
                session,
                network_id=network["id"],
                entity_id=entity["id"],
                start_date=second_start,
                end_date=None if open_ended else DATE_MAX,
            )
            answers = {}
            for day in days:
                page = await list_membership_rows(
                    conn,
                    PageRequest(limit=10),
                    network_id=network["id"],
                    entity_id=entity["id"],
                    period=PeriodFilter(day),
                )
                answers[day] = len(page.items) == 1
            await transaction.rollback()
        return answers
    finally:
        await engine.dispose()


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(_histories, st.lists(registry_dates, min_size=1, max_size=5))
def test_who_was_a_member_on_a_day_holds_over_the_whole_domain(migrated_database, history, more_days):
    """A membership covers its first and last day and nothing outside them, from 1900 to 2999:
    the as-of answer for each boundary day and some others, against the plain definition."""
    import asyncio

    first_start, first_end, second_start, _ = history
    edges = [first_start, first_end, first_end + timedelta(days=1), second_start - timedelta(days=1), second_start]
    before = {first_start - timedelta(days=1)} if first_start > DATE_MIN else set()
    days = sorted({*edges, *more_days, DATE_MAX} | before)
    answers = asyncio.run(_members_on(migrated_database, history, days))
    for day, listed in answers.items():
        expected = first_start <= day <= first_end or second_start <= day
        assert listed == expected, (history, day)
