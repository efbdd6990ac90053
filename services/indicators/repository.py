"""The indicators, as of a date: what the records say was true on that day.

Membership, working groups and MoUs are read from their dated fields (start and end dates,
activation, closing, termination, supersession), so a past date gives the numbers a review
would have seen then. Counts "over the period" cover the twelve months up to the date."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.dates import DATE_MAX, DATE_MIN
from services.errors import InvalidInput
from services.indicators.dated import active_groups_on, mous_in_force_on, objective_coverage_on
from services.meetings.compliance import meeting_compliance

DAY = "CAST(:as_of AS date)"
INDICATORS_SQL = text(
    f"""
WITH p AS (
    -- The day, the day twelve months before it, and the days after that up to the day as UTC instants.
    SELECT CAST(:as_of AS date) AS d, CAST(CAST(:as_of AS date) - interval '12 months' AS date) AS since,
           (CAST(:as_of AS date) - interval '12 months' + interval '1 day') AT TIME ZONE 'UTC' AS starts_at,
           (CAST(:as_of AS date) + interval '1 day') AT TIME ZONE 'UTC' AS ends_before
),
members AS (
    SELECT
        count(*) FILTER (WHERE m.tier = 'core' AND m.start_date <= p.d AND (m.end_date IS NULL OR m.end_date >= p.d)) AS core,
        count(*) FILTER (WHERE m.tier = 'extended' AND m.start_date <= p.d AND (m.end_date IS NULL OR m.end_date >= p.d)) AS extended,
        count(*) FILTER (WHERE m.previous_membership_id IS NULL AND m.start_date > p.since AND m.start_date <= p.d) AS joined,
        count(*) FILTER (
            WHERE m.end_date >= p.since AND m.end_date < p.d
              AND NOT EXISTS (SELECT 1 FROM memberships s WHERE s.previous_membership_id = m.id)
        ) AS left_network,
        count(*) FILTER (WHERE m.previous_membership_id IS NOT NULL AND m.start_date > p.since AND m.start_date <= p.d) AS tier_changes
    FROM memberships m, p
    WHERE m.network_id = :network_id
),
active_groups AS ({active_groups_on(DAY)}),
group_counts AS (
    SELECT
        count(*) AS active,
        count(*) FILTER (
            WHERE NOT EXISTS (
                SELECT 1 FROM working_group_posts c, p
                WHERE c.working_group_id = a.id AND c.kind = 'chair' AND c.start_date <= p.d AND (c.end_date IS NULL OR c.end_date >= p.d)
            )
        ) AS without_chair,
        count(*) FILTER (
            WHERE NOT EXISTS (
                SELECT 1 FROM meetings mt, p
                WHERE mt.working_group_id = a.id AND mt.status = 'held'
                  AND mt.starts_at::date > p.since AND mt.starts_at::date <= p.d
            )
        ) AS without_meeting_in_12_months
    FROM active_groups a
),
seats AS (
    -- Seats held on the day in the active groups: by members of the network, and by stakeholders.
    SELECT count(*) FILTER (WHERE e.un_system) AS network_members, count(*) FILTER (WHERE NOT e.un_system) AS stakeholders
    FROM working_group_posts s JOIN active_groups a ON a.id = s.working_group_id JOIN entities e ON e.id = s.entity_id, p
    WHERE s.kind = 'member' AND s.start_date <= p.d AND (s.end_date IS NULL OR s.end_date >= p.d)
),
active_mous AS ({mous_in_force_on(DAY)}),
mou_counts AS (
    SELECT
        count(*) AS active,
        count(*) FILTER (WHERE a.end_date BETWEEN p.d AND p.d + 90) AS expiring_within_90_days,
        count(*) FILTER (WHERE a.review_due_date BETWEEN p.d AND p.d + 90) AS review_due_within_90_days,
        count(*) FILTER (
            WHERE a.review_due_date < p.d
              AND NOT EXISTS (SELECT 1 FROM mous s WHERE s.predecessor_id = a.id AND s.created_at::date <= p.d)
        ) AS overdue_for_refresh
    FROM active_mous a, p
),
coverage AS ({objective_coverage_on(DAY)}),
objectives AS (
    SELECT count(*) FILTER (WHERE coverage = 'uncovered') AS uncovered,
           count(*) FILTER (WHERE coverage = 'contested') AS contested
    FROM coverage
),
webhooks AS (
    SELECT
        count(*) FILTER (WHERE w.attempts > 0) AS attempted,
        count(*) FILTER (WHERE w.status = 'succeeded') AS succeeded,
        count(*) FILTER (WHERE w.status = 'failed') AS failed
    FROM webhook_deliveries w, p
    WHERE w.network_id = :network_id AND w.created_at >= p.starts_at AND w.created_at < p.ends_before
),
emails AS (
    SELECT
        count(*) FILTER (WHERE e.attempts > 0) AS attempted,
        count(*) FILTER (WHERE e.status = 'succeeded') AS succeeded,
        count(*) FILTER (WHERE e.status = 'failed') AS failed
    FROM email_deliveries e, p
    WHERE e.network_id = :network_id AND e.created_at >= p.starts_at AND e.created_at < p.ends_before
),
disabled AS (
    SELECT count(*) AS endpoints_disabled FROM events ev, p
    WHERE ev.type = 'webhook_endpoint.disabled'
      AND ev.occurred_at >= p.starts_at AND ev.occurred_at < p.ends_before
)
SELECT
    jsonb_build_object('core', members.core, 'extended', members.extended, 'joined', members.joined,
                       'left', members.left_network, 'tier_changes', members.tier_changes) AS membership,
    jsonb_build_object('active', group_counts.active, 'without_current_chair', group_counts.without_chair,
                       'without_meeting_in_12_months', group_counts.without_meeting_in_12_months,
                       'seats', jsonb_build_object('network_members', seats.network_members,
                                                   'stakeholders', seats.stakeholders)) AS working_groups,
    jsonb_build_object('active', mou_counts.active, 'expiring_within_90_days', mou_counts.expiring_within_90_days,
                       'review_due_within_90_days', mou_counts.review_due_within_90_days,
                       'overdue_for_refresh', mou_counts.overdue_for_refresh, 'contested_objectives', objectives.contested) AS mous,
    jsonb_build_object('uncovered', objectives.uncovered, 'contested', objectives.contested) AS gcm_objectives,
    jsonb_build_object(
        'webhook_deliveries', jsonb_build_object('attempted', webhooks.attempted, 'succeeded', webhooks.succeeded, 'failed', webhooks.failed),
        'email_deliveries', jsonb_build_object('attempted', emails.attempted, 'succeeded', emails.succeeded, 'failed', emails.failed),
        'endpoints_disabled', disabled.endpoints_disabled
    ) AS notifications
FROM members, group_counts, seats, mou_counts, objectives, webhooks, emails, disabled
"""  # noqa: S608 - the fragments are services.indicators.dated's constants
)


# The days the registry computes for: its one date domain.
EARLIEST = DATE_MIN
LATEST = DATE_MAX


def check_day(day: date, field: str) -> None:
    if not EARLIEST <= day <= LATEST:
        raise InvalidInput("date-out-of-range", f"{field} must fall between {EARLIEST} and {LATEST}; {day} does not.")


async def indicators(conn: AsyncConnection, network_id: uuid.UUID, *, as_of: date) -> dict[str, Any]:
    """Every indicator for a network on a date (404 via meeting_compliance if no such network)."""
    check_day(as_of, "as_of")
    compliance = await meeting_compliance(conn, network_id, today=as_of)
    row = (await conn.execute(INDICATORS_SQL, {"network_id": network_id, "as_of": as_of})).mappings().one()
    return {
        "network_id": network_id,
        "as_of": as_of,
        "period_start": as_of.replace(year=as_of.year - 1)
        if not (as_of.month == 2 and as_of.day == 29)
        else as_of.replace(year=as_of.year - 1, day=28),
        **{key: row[key] for key in ("membership", "working_groups", "mous", "gcm_objectives", "notifications")},
        "annual_meeting_rule": {
            "met": compliance["state"] != "overdue",
            "state": compliance["state"],
            "last_met_on": compliance["last_met_on"],
            "due_by": compliance["due_by"],
        },
    }
