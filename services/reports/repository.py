"""The activity report's queries: one statement per section, each returning the section's rows.

Every query takes the same parameters: ``network_id``; ``period_start`` and ``period_end``, the
first and last days; ``starts_at`` and ``ends_before``, the same period as UTC instants, for
timestamps (meeting starts, event times), so an index on the timestamp serves the range."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.indicators.dated import objective_coverage_on
from services.principals import SYSTEM_DEMO


@dataclass(frozen=True)
class Period:
    """A network and the days of a report, first and last included."""

    network_id: uuid.UUID
    start: date
    end: date

    def parameters(self) -> dict[str, Any]:
        return {
            "network_id": self.network_id,
            "period_start": self.start,
            "period_end": self.end,
            "starts_at": datetime.combine(self.start, time.min, UTC),
            "ends_before": datetime.combine(self.end + timedelta(days=1), time.min, UTC),
            "demo_actor": SYSTEM_DEMO.id,
        }


async def rows(conn: AsyncConnection, statement: TextClause, period: Period) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(statement, period.parameters())).mappings()]


# Joined (a first period starts), tier changed (a period that continues another starts),
# left (a period ends that no other continues). ``tier`` is the tier after the change,
# ``previous_tier`` the one before.
MEMBERSHIP_CHANGES = text(
    """
SELECT c.day AS "date", e.acronym AS entity_acronym, e.name AS entity_name, c.change, c.tier, c.previous_tier
FROM (
    SELECT m.start_date AS day, m.entity_id,
           CASE WHEN m.previous_membership_id IS NULL THEN 'joined' ELSE 'tier_changed' END AS change,
           m.tier::text AS tier, p.tier::text AS previous_tier
    FROM memberships m
    LEFT JOIN memberships p ON p.id = m.previous_membership_id
    WHERE m.network_id = :network_id AND m.start_date BETWEEN :period_start AND :period_end
    UNION ALL
    SELECT m.end_date, m.entity_id, 'left', NULL, m.tier::text
    FROM memberships m
    WHERE m.network_id = :network_id AND m.end_date BETWEEN :period_start AND :period_end
      AND NOT EXISTS (SELECT 1 FROM memberships s WHERE s.previous_membership_id = m.id)
) c
JOIN entities e ON e.id = c.entity_id
ORDER BY c.day, e.acronym, c.change
"""
)

# Members by tier at each month end in the period, and on its last day.
MEMBERSHIP_OVER_TIME = text(
    """
WITH points AS (
    SELECT (month + interval '1 month' - interval '1 day')::date AS day
    FROM generate_series(
        date_trunc('month', CAST(:period_start AS date)::timestamp),
        date_trunc('month', CAST(:period_end AS date)::timestamp),
        interval '1 month'
    ) AS month
    WHERE (month + interval '1 month' - interval '1 day')::date <= :period_end
    UNION
    SELECT CAST(:period_end AS date)
)
SELECT p.day AS "date",
       count(m.id) FILTER (WHERE m.tier = 'core') AS core,
       count(m.id) FILTER (WHERE m.tier = 'extended') AS extended
FROM points p
LEFT JOIN memberships m
       ON m.network_id = :network_id AND m.start_date <= p.day AND (m.end_date IS NULL OR m.end_date >= p.day)
GROUP BY p.day
ORDER BY p.day
"""
)

# A group is active on day d when activated_on <= d < closed_on (as the indicators count it).
LEADERSHIP = text(
    """
SELECT p.role::text AS role, e.acronym AS entity_acronym, e.name AS entity_name, p.start_date, p.end_date,
       CASE
           WHEN p.start_date BETWEEN :period_start AND :period_end
            AND p.end_date BETWEEN :period_start AND :period_end THEN 'appointed and ended'
           WHEN p.start_date BETWEEN :period_start AND :period_end THEN 'appointed'
           WHEN p.end_date BETWEEN :period_start AND :period_end THEN 'ended'
           ELSE 'held'
       END AS change
FROM network_posts p JOIN entities e ON e.id = p.entity_id
WHERE p.network_id = :network_id AND p.start_date <= :period_end
  AND (p.end_date IS NULL OR p.end_date >= :period_start)
ORDER BY p.role, p.start_date, e.acronym
"""
)

WORKING_GROUPS = text(
    """
SELECT g.name, g.translations,
       CASE
           WHEN g.activated_on BETWEEN :period_start AND :period_end
            AND g.closed_on BETWEEN :period_start AND :period_end THEN 'established and closed'
           WHEN g.activated_on BETWEEN :period_start AND :period_end THEN 'established'
           WHEN g.closed_on BETWEEN :period_start AND :period_end THEN 'closed'
           ELSE 'active'
       END AS change,
       g.activated_on, g.closed_on,
       CASE WHEN g.closed_on BETWEEN :period_start AND :period_end THEN g.close_reason END AS close_reason,
       (SELECT count(*) FROM meetings mt
         WHERE mt.working_group_id = g.id AND mt.status = 'held'
           AND mt.starts_at >= :starts_at AND mt.starts_at < :ends_before) AS meetings_held
FROM working_groups g
WHERE g.network_id = :network_id
  AND ((g.activated_on <= :period_end AND (g.closed_on IS NULL OR g.closed_on > :period_start))
       OR g.closed_on BETWEEN :period_start AND :period_end)
ORDER BY g.name, g.id
"""
)

# Each dated step of a MoU's lifecycle in the period; a refresh is a successor becoming active.
MOUS = text(
    """
WITH mine AS (
    SELECT * FROM mous WHERE network_id = :network_id
),
changes AS (
    SELECT m.id, m.signed_on AS day, 1 AS step, 'signed' AS change, NULL AS detail
    FROM mine m WHERE m.signed_on BETWEEN :period_start AND :period_end
    UNION ALL
    SELECT m.id, m.activated_on, 2,
           CASE WHEN m.predecessor_id IS NULL THEN 'activated' ELSE 'refreshed' END,
           'refreshes ' || p.reference_number
    FROM mine m LEFT JOIN mous p ON p.id = m.predecessor_id
    WHERE m.activated_on BETWEEN :period_start AND :period_end
    UNION ALL
    SELECT m.id, m.superseded_on, 3, 'superseded',
           (SELECT 'superseded by ' || string_agg(s.reference_number, ', ' ORDER BY s.reference_number)
              FROM mous s WHERE s.predecessor_id = m.id AND s.activated_on IS NOT NULL)
    FROM mine m WHERE m.superseded_on BETWEEN :period_start AND :period_end
    UNION ALL
    -- In force until its end date, unless ended another way first.
    SELECT m.id, m.end_date, 4, 'expired', NULL
    FROM mine m
    WHERE m.end_date BETWEEN :period_start AND :period_end AND m.activated_on <= m.end_date
      AND (m.terminated_on IS NULL OR m.terminated_on > m.end_date)
      AND (m.superseded_on IS NULL OR m.superseded_on > m.end_date)
    UNION ALL
    SELECT m.id, m.terminated_on, 5, 'terminated', m.termination_reason
    FROM mine m WHERE m.terminated_on BETWEEN :period_start AND :period_end
)
SELECT c.day AS "date", m.reference_number, m.title, c.change, parties.parties, c.detail
FROM changes c
JOIN mine m ON m.id = c.id
CROSS JOIN LATERAL (
    SELECT string_agg(e.acronym, '; ' ORDER BY e.acronym) AS parties
    FROM mou_parties mp JOIN entities e ON e.id = mp.entity_id
    WHERE mp.mou_id = m.id
) parties
ORDER BY c.day, m.reference_number, c.step
"""
)

# External participants as the annual-meeting rule counts them: stakeholders recorded as
# present, and people invited by e-mail (whose attendance is not recorded) unless marked absent.
MEETINGS = text(
    """
SELECT (mt.starts_at AT TIME ZONE 'UTC')::date AS "date", mt.title, mt.kind::text AS kind,
       g.name AS working_group, g.translations AS working_group_translations, mt.status::text AS status, inv.invited,
       CASE WHEN mt.status = 'held' THEN inv.attended END AS attended,
       CASE WHEN mt.status = 'held' THEN inv.external_participants END AS external_participants
FROM meetings mt
LEFT JOIN working_groups g ON g.id = mt.working_group_id
CROSS JOIN LATERAL (
    SELECT count(*) AS invited,
           count(*) FILTER (WHERE i.attended) AS attended,
           count(*) FILTER (
               WHERE (i.entity_id IS NULL AND i.attended IS NOT FALSE) OR (i.attended AND NOT e.un_system)
           ) AS external_participants
    FROM meeting_invitees i
    LEFT JOIN entities e ON e.id = i.entity_id
    WHERE i.meeting_id = mt.id
) inv
WHERE mt.network_id = :network_id AND mt.status IN ('held', 'cancelled')
  AND mt.starts_at >= :starts_at AND mt.starts_at < :ends_before
ORDER BY mt.starts_at, mt.title, mt.id
"""
)

# The demo data set's loading (its own principal) is the demo's history, not activity.
RECORD_CHANGES = text(
    """
SELECT e.type AS event_type, count(*) AS count
FROM events e
WHERE e.network_id = :network_id AND e.occurred_at >= :starts_at AND e.occurred_at < :ends_before
  AND e.actor <> :demo_actor
GROUP BY e.type
ORDER BY e.type
"""
)

# Coverage on the period's last day, from the dated fields (services.coverage reads today's
# statuses), defined once with the indicators.
OBJECTIVE_COVERAGE = text(objective_coverage_on("CAST(:period_end AS date)"))

# Review cycles whose work touched the period: opened (by the scheduler), due, started or
# completed in it, or under way throughout. Status and counts are as they stand today.
REVIEWS = text(
    """
SELECT r.number, r.period_start AS reviewed_from, r.due_date, e.acronym AS lead, r.status::text AS status,
       r.started_on, r.completed_on, r.overdue_since,
       count(c.id) FILTER (WHERE c.status = 'open') AS open,
       count(c.id) FILTER (WHERE c.status = 'in_progress') AS in_progress,
       count(c.id) FILTER (WHERE c.status = 'done') AS done,
       count(c.id) FILTER (WHERE c.status = 'dropped') AS dropped
FROM reviews r
JOIN entities e ON e.id = r.lead_entity_id
LEFT JOIN review_recommendations c ON c.review_id = r.id
WHERE r.network_id = :network_id
  AND ((r.created_at >= :starts_at AND r.created_at < :ends_before)
       OR r.due_date BETWEEN :period_start AND :period_end
       OR r.started_on BETWEEN :period_start AND :period_end
       OR r.completed_on BETWEEN :period_start AND :period_end
       OR (r.started_on < :period_start AND (r.completed_on IS NULL OR r.completed_on > :period_end)))
GROUP BY r.id, e.acronym
ORDER BY r.number
"""
)

# Recommendations being followed up in the period: made by its last day, and not closed
# before its first. Status as it stands today, with the day it last changed.
RECOMMENDATIONS = text(
    """
SELECT r.number AS review_number, c.text AS recommendation, e.acronym AS owner, c.due_date,
       c.status::text AS status, c.status_changed_on, c.dropped_reason, c.overdue_since
FROM review_recommendations c
JOIN reviews r ON r.id = c.review_id
JOIN entities e ON e.id = c.owner_entity_id
WHERE c.network_id = :network_id
  AND COALESCE(r.started_on, r.due_date) <= :period_end
  AND (c.status IN ('open', 'in_progress') OR c.status_changed_on >= :period_start)
ORDER BY r.number, c.due_date, c.id
"""
)

# The network's workplan activities under way at some time in the period: started by its last
# day, and either running into it (an open end runs to its workplan's end), not completed on
# its last day, or completed in it. Each with its status on that day, from the dated status history (an activity
# recorded later than that day counts as yet to start). Overdue: not completed on that day,
# though its end date is before it.
_ACTIVITIES_AT_END = """
WITH at_end AS (
    SELECT a.id, w.title AS workplan, a.title, a.start_date, a.end_date,
           COALESCE(a.end_date, w.end_date) AS runs_to,
           COALESCE(latest.status, 'yet_to_start') AS status, latest.changed_on AS status_since
    FROM workplan_activities a
    JOIN workplans w ON w.id = a.workplan_id
    LEFT JOIN LATERAL (
        SELECT h.status::text AS status, h.changed_on FROM workplan_activity_status_changes h
        WHERE h.activity_id = a.id AND h.changed_on <= :period_end
        ORDER BY h.changed_on DESC, h.id DESC LIMIT 1
    ) latest ON true
    WHERE w.network_id = :network_id AND a.start_date <= :period_end
),
activities AS (
    SELECT * FROM at_end
    WHERE runs_to >= :period_start OR status <> 'completed' OR status_since >= :period_start
)
"""

ACTIVITIES_BY_STATUS = text(
    _ACTIVITIES_AT_END
    + """
SELECT s.status::text AS status, count(a.id) AS activities,
       count(a.id) FILTER (WHERE a.status <> 'completed' AND a.end_date < :period_end) AS overdue
FROM unnest(enum_range(NULL::activity_status)) WITH ORDINALITY AS s(status, position)
LEFT JOIN activities a ON a.status = s.status::text
GROUP BY s.status, s.position
ORDER BY s.position
"""
)

OVERDUE_ACTIVITIES = text(
    _ACTIVITIES_AT_END  # noqa: S608 - a constant fragment
    + """
SELECT a.workplan, a.title AS activity, leads.leads, a.start_date, a.end_date, a.status AS status_at_end,
       CAST(:period_end AS date) - a.end_date AS days_overdue
FROM activities a
CROSS JOIN LATERAL (
    SELECT string_agg(e.acronym, '; ' ORDER BY e.acronym) AS leads
    FROM workplan_activity_leads l JOIN entities e ON e.id = l.entity_id
    WHERE l.activity_id = a.id
) leads
WHERE a.status <> 'completed' AND a.end_date < :period_end
ORDER BY a.end_date, a.workplan, a.title, a.id
"""
)

OUTPUTS = text(
    """
SELECT o.published_on, w.title AS workplan, a.title AS activity, o.title, o.link
FROM workplan_activity_outputs o
JOIN workplan_activities a ON a.id = o.activity_id
JOIN workplans w ON w.id = a.workplan_id
WHERE w.network_id = :network_id AND o.published_on BETWEEN :period_start AND :period_end
ORDER BY o.published_on, w.title, a.title, o.title, o.id
"""
)

# Countries that were champions at any time in the period; the names are added from the
# reference data (services.reports.sections).
CHAMPION_COUNTRIES = text(
    """
SELECT c.country_code, c.start_date, c.end_date,
       CASE
           WHEN c.start_date BETWEEN :period_start AND :period_end
            AND c.end_date BETWEEN :period_start AND :period_end THEN 'started and ended'
           WHEN c.start_date BETWEEN :period_start AND :period_end THEN 'started'
           WHEN c.end_date BETWEEN :period_start AND :period_end THEN 'ended'
           ELSE 'serving'
       END AS change
FROM champion_countries c
WHERE c.network_id = :network_id AND c.start_date <= :period_end
  AND (c.end_date IS NULL OR c.end_date >= :period_start)
ORDER BY c.start_date, c.country_code, c.id
"""
)

# Pledges followed up in the period: announced by its last day and not fulfilled or withdrawn
# before its first (both are final, so a pledge closed after the period was open throughout
# its end). Overdue: open on the period's last day, due before it.
_PLEDGES_IN_PERIOD = """
WITH pledged AS (
    SELECT p.*, p.status IN ('announced', 'in_progress') OR p.status_changed_on > :period_end AS open_at_end
    FROM pledges p
    WHERE p.network_id = :network_id AND p.created_at < :ends_before
      AND (p.status IN ('announced', 'in_progress') OR p.status_changed_on >= :period_start)
)
"""

PLEDGES_BY_STATUS = text(
    _PLEDGES_IN_PERIOD
    + """
SELECT s.status::text AS status, count(p.id) AS pledges,
       count(p.id) FILTER (WHERE p.open_at_end AND p.due_date < :period_end) AS overdue_at_end
FROM unnest(enum_range(NULL::pledge_status)) WITH ORDINALITY AS s(status, position)
LEFT JOIN pledged p ON p.status = s.status
GROUP BY s.status, s.position
ORDER BY s.position
"""
)

OVERDUE_PLEDGES = text(
    _PLEDGES_IN_PERIOD
    + """
SELECT p.pledger_country_code, e.acronym AS pledger_entity, p.title, p.due_date, p.status::text AS status,
       p.status_changed_on, CAST(:period_end AS date) - p.due_date AS days_overdue
FROM pledged p
LEFT JOIN entities e ON e.id = p.pledger_entity_id
WHERE p.open_at_end AND p.due_date < :period_end
ORDER BY p.due_date, p.title, p.id
"""
)

NETWORK = text("SELECT id, name, short_name, country_code, translations FROM networks WHERE id = :network_id")


async def network_heading(conn: AsyncConnection, network_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(NETWORK, {"network_id": network_id})).mappings().first()
    return dict(row) if row is not None else None
