"""The benchmark's data: a realistic Network at scale, generated in PostgreSQL by set-based SQL.

    .venv/bin/python -m tests.benchmarks.generate            # BENCH_SIZE=small (default) or full

Each size lives in a database of its own (``registry_bench_<size>`` on DATABASE_URL's server),
created fresh, migrated with Alembic (``registry migrate``) and filled with
``INSERT ... SELECT generate_series``. The sizes are recorded in ``bench_size``; a later run
with the same sizes reuses the database, a run with other sizes (or one that never finished)
drops it and starts again.

What it writes respects the schema and the service's rules: only UN-system entities are
members; periods of one (network, entity) never overlap (the trigger's rule, checked over all
rows at once after the bulk insert, for which the per-row trigger is off); tier
changes keep history (``previous_membership_id``); core memberships carry their statements;
the coordinator is a current core member; chairs and seats of working groups are current
members; MoUs have two UN parties, signatures where signed, an area led by a party; meetings
of a working group belong to its network; events are published (the relay has nothing to
do) and nothing is due (the scheduler's sweep finds only what it would find on a quiet day).
Webhook endpoints of the history are disabled, so load never sends to them.
"""

import asyncio
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Size:
    name: str
    entities: int
    networks: int
    memberships: int
    working_groups: int
    mous: int
    meetings: int
    events: int
    webhook_endpoints: int

    @property
    def database(self) -> str:
        return f"registry_bench_{self.name}"


SIZES = {
    "small": Size("small", 200, 5, 5_000, 200, 1_000, 10_000, 50_000, 5),
    "full": Size("full", 2_000, 20, 200_000, 5_000, 50_000, 1_000_000, 5_000_000, 20),
}


def size_from_env(name: str | None = None) -> Size:
    """BENCH_SIZE (small or full), each count overridable: BENCH_ENTITIES, BENCH_NETWORKS,
    BENCH_MEMBERSHIPS, BENCH_WORKING_GROUPS, BENCH_MOUS, BENCH_MEETINGS, BENCH_EVENTS,
    BENCH_WEBHOOK_ENDPOINTS."""
    name = name or os.environ.get("BENCH_SIZE", "small")
    if name not in SIZES:
        sys.exit(f"BENCH_SIZE must be one of {', '.join(SIZES)}, not {name!r}")
    size = SIZES[name]
    overrides = {
        field: int(os.environ[f"BENCH_{field.upper()}"])
        for field in asdict(size)
        if field != "name" and f"BENCH_{field.upper()}" in os.environ
    }
    if overrides:
        size = replace(size, **overrides)
    if size.entities < 60 or size.networks < 2 or size.working_groups < size.networks:
        sys.exit("the sizes need at least 60 entities, 2 networks and a working group per network")
    return size


def plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def with_database(url: str, name: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


_embedded: object = None


def server_url() -> str:
    """DATABASE_URL's server, or (a fresh clone without one) the embedded PostgreSQL in .data/."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    from services.embedded_postgres import start_embedded_postgres

    global _embedded
    _embedded, url = start_embedded_postgres(ROOT / ".data", database="postgres")
    return str(url)


# A membership's id, from its pair p and its place j in the pair's history.
MEMBERSHIP_ID = "md5('m' || {p} || '.' || {j})::uuid"
ENTITY_ID = "md5('e' || {i})::uuid"
NETWORK_ID = "md5('n' || {i})::uuid"
# An event's id, from its place e in the history (oldest first): ordered as the history is, as
# the service's own UUIDv7 ids are ordered by time, so that an event's neighbours in time are
# its neighbours in the id index (random ids would scatter every range of events over the disk).
EVENT_ID = "(lpad(to_hex({e}), 12, '0') || '7' || substr(md5('ev' || {e}), 1, 3) || '8' || substr(md5('ev' || {e}), 4, 15))::uuid"


def statements(size: Size) -> list[tuple[str, str]]:
    """(what, SQL) in order. Entity i (1-based): 1-50 are headquarters of UN-system entities,
    the rest offices of them, and every tenth of those another kind of stakeholder."""
    n = size.networks
    history = max(1, math.ceil(size.memberships / (n * _un_entities(size.entities))))
    pairs = math.ceil(size.memberships / history)
    regional = max(1, (n - 1) // 4)
    return [
        (
            "entities",
            f"""
            INSERT INTO entities (id, acronym, name, kind, parent_id, office_level, country_code, website,
                                  contact_email, created_at, updated_at)
            SELECT {ENTITY_ID.format(i="i")},
                   CASE WHEN i <= 50 THEN 'HQ' ELSE 'OFF' END || i,
                   CASE WHEN i <= 50 THEN 'Benchmark UN entity ' || i ELSE 'Benchmark office ' || i END,
                   (CASE WHEN i > 50 AND i % 10 = 0
                         THEN (ARRAY['member_state', 'civil_society', 'private_sector', 'academia',
                                     'local_authority'])[1 + (i / 10) % 5]
                         ELSE 'un_system' END)::entity_kind,
                   CASE WHEN i > 50 AND i % 10 <> 0 THEN {ENTITY_ID.format(i="(1 + i % 50)")} END,
                   (CASE WHEN i <= 50 OR i % 10 = 0 THEN 'headquarters'
                         WHEN i % 2 = 0 THEN 'regional' ELSE 'country' END)::office_level,
                   CASE WHEN i > 50 THEN chr(65 + i % 26) || chr(65 + (i / 26) % 26) END,
                   'https://entity' || i || '.example.org',
                   'focal' || i || '@entity' || i || '.example.org',
                   now() - make_interval(days => 4000 - i % 1000), now() - make_interval(days => i % 300)
            FROM generate_series(1, {size.entities}) AS i
            """,
        ),
        (
            "entity identifiers",
            f"""
            INSERT INTO entity_identifiers (entity_id, scheme, value)
            SELECT {ENTITY_ID.format(i="i")}, 'bench-id', 'B-' || i FROM generate_series(1, {size.entities}) AS i
            """,
        ),
        (
            "UN entities, numbered",
            """
            CREATE TEMP TABLE un_entities AS
            SELECT row_number() OVER (ORDER BY substring(acronym FROM '[0-9]+')::int) AS rn, id FROM entities
            WHERE un_system AND acronym ~ '^(HQ|OFF)[0-9]+$'
            """,
        ),
        ("", "CREATE UNIQUE INDEX ON un_entities (rn)"),
        (
            "networks",
            f"""
            INSERT INTO networks (id, name, short_name, scope, parent_network_id, region, country_code,
                                  established_on, description)
            SELECT {NETWORK_ID.format(i="i")},
                   CASE WHEN i = 1 THEN 'Benchmark global network' ELSE 'Benchmark network ' || i END,
                   'BN' || i,
                   (CASE WHEN i = 1 THEN 'global' WHEN i <= 1 + {regional} THEN 'regional'
                         ELSE 'country' END)::network_scope,
                   CASE WHEN i > 1 THEN {NETWORK_ID.format(i="1")} END,
                   CASE WHEN i > 1 AND i <= 1 + {regional} THEN (ARRAY['ECA', 'ECE', 'ECLAC', 'ESCAP', 'ESCWA'])[1 + i % 5] END,
                   CASE WHEN i > 1 + {regional} THEN chr(65 + i % 26) || chr(65 + (i / 26) % 26) END,
                   date '2018-12-01' + i * 30, 'A network generated for the benchmark'
            FROM generate_series(1, {n}) AS i
            """,
        ),
        (
            "network posts",
            """
            INSERT INTO network_posts (id, network_id, role, entity_id, start_date)
            SELECT gen_random_uuid(), n.id, role::network_post_role, (SELECT id FROM un_entities WHERE rn = 1),
                   n.established_on
            FROM networks AS n, unnest(ARRAY['coordinator', 'secretariat']) AS role
            """,
        ),
        (
            "networks, numbered",
            f"""
            CREATE TEMP TABLE bench_networks AS
            SELECT i - 1 AS k, {NETWORK_ID.format(i="i")} AS id FROM generate_series(1, {n}) AS i
            """,
        ),
        # Pair p is (network p % n, UN entity p / n + 1); its history has `history` periods of
        # 600 days, tier alternating, the last one open (unless the entity left). The first n
        # pairs are UN entity 1 in every network: the coordinator, a current core member.
        # The overlap trigger's per-row lookup is quadratic in a network's rows at this size:
        # it is off for this one statement, and the same rule is checked set-based after it.
        ("", "ALTER TABLE memberships DISABLE TRIGGER memberships_no_overlap"),
        (
            "memberships",
            f"""
            INSERT INTO memberships (id, network_id, entity_id, tier, start_date, end_date, end_reason,
                                     mandate_relevance, capacity, previous_membership_id, created_at)
            SELECT {MEMBERSHIP_ID.format(p="p", j="j")}, bn.id, ue.id, tier::membership_tier, start_date,
                   end_date, CASE WHEN end_date IS NOT NULL THEN 'Tier change or departure' END,
                   CASE WHEN tier = 'core' THEN 'Mandate-driven relevance to the Compact''s objectives' END,
                   CASE WHEN tier = 'core' THEN 'Staff and budget to contribute' END,
                   CASE WHEN j > 0 THEN {MEMBERSHIP_ID.format(p="p", j="(j - 1)")} END,
                   start_date::timestamptz
            FROM (
                SELECT i / {history} AS p, i % {history} AS j FROM generate_series(0, {size.memberships} - 1) AS i
            ) AS slot
            CROSS JOIN LATERAL (
                SELECT date '2008-01-01' + (p % 97)::int + j * 600 AS start_date,
                       CASE WHEN p < {n} OR (j = {history} - 1 AND p % 4 = 0) OR (j + p) % 3 = 0
                            THEN 'core' ELSE 'extended' END AS tier
            ) AS period
            CROSS JOIN LATERAL (
                SELECT CASE WHEN j < {history} - 1 THEN period.start_date + 598
                            WHEN p % 5 = 4 AND p >= {n} THEN period.start_date + 300 END AS end_date
            ) AS ending
            JOIN bench_networks bn ON bn.k = p % {n}
            JOIN un_entities ue ON ue.rn = p / {n} + 1
            ORDER BY p, j
            """,
        ),
        (
            "memberships: no two periods of one (network, entity) overlap (the trigger's rule, checked at once)",
            """
            ANALYZE memberships;
            DO $$
            BEGIN
                IF EXISTS (
                    SELECT 1 FROM memberships a JOIN memberships b
                      ON a.network_id = b.network_id AND a.entity_id = b.entity_id AND a.id < b.id
                     AND daterange(a.start_date, a.end_date, '[]') && daterange(b.start_date, b.end_date, '[]')
                ) THEN
                    RAISE EXCEPTION 'generated membership periods overlap';
                END IF;
            END
            $$;
            ALTER TABLE memberships ENABLE TRIGGER memberships_no_overlap
            """,
        ),
        (
            "current members, numbered per network",
            """
            CREATE TEMP TABLE current_members AS
            SELECT bn.k, row_number() OVER (PARTITION BY bn.k ORDER BY m.entity_id) AS rn,
                   count(*) OVER (PARTITION BY bn.k) AS members, m.entity_id
            FROM memberships m JOIN bench_networks bn ON bn.id = m.network_id
            WHERE m.end_date IS NULL
            """,
        ),
        ("", "CREATE UNIQUE INDEX ON current_members (k, rn)"),
        (
            "working groups",
            f"""
            INSERT INTO working_groups (id, network_id, name, slug, terms_of_reference, sdg_targets, status,
                                        activated_on, closed_on, close_reason, created_at)
            SELECT md5('w' || w)::uuid, bn.id, 'Working group ' || w, 'wg-' || w,
                   'Terms of reference of working group ' || w, '{{10.7,17.17}}',
                   (CASE w % 10 WHEN 0 THEN 'proposed' WHEN 1 THEN 'closed' ELSE 'active' END)::working_group_status,
                   CASE WHEN w % 10 <> 0 THEN date '2019-01-01' + w % 1500 END,
                   CASE WHEN w % 10 = 1 THEN date '2019-01-01' + w % 1500 + 200 END,
                   CASE WHEN w % 10 = 1 THEN 'Mandate fulfilled' END,
                   timestamptz '2019-01-01' + make_interval(days => w % 1500)
            FROM generate_series(0, {size.working_groups} - 1) AS w JOIN bench_networks bn ON bn.k = w % {n}
            """,
        ),
        (
            "working groups' objectives and principles",
            f"""
            INSERT INTO working_group_objectives (working_group_id, objective_number)
            SELECT md5('w' || w)::uuid, (w + o * 5) % 23 + 1
            FROM generate_series(0, {size.working_groups} - 1) AS w, generate_series(0, 1) AS o;
            INSERT INTO working_group_principles (working_group_id, principle_code)
            SELECT md5('w' || w)::uuid, gp.code
            FROM generate_series(0, {size.working_groups} - 1) AS w
            JOIN guiding_principles gp ON gp.position = w % 10 + 1
            """,
        ),
        # A chair and three seats, drawn from the network's current members.
        (
            "working groups' chairs and seats",
            f"""
            INSERT INTO working_group_posts (id, working_group_id, kind, entity_id, start_date, end_date, end_reason)
            SELECT md5('wp' || w || '.' || s)::uuid, md5('w' || w)::uuid,
                   (CASE WHEN s = 0 THEN 'chair' ELSE 'member' END)::working_group_post_kind, cm.entity_id,
                   date '2019-01-01' + w % 1500,
                   CASE WHEN w % 10 = 1 THEN date '2019-01-01' + w % 1500 + 200 END,
                   CASE WHEN w % 10 = 1 THEN 'Group closed' END
            FROM generate_series(0, {size.working_groups} - 1) AS w
            CROSS JOIN generate_series(0, 3) AS s
            JOIN (SELECT k, max(members) AS members FROM current_members GROUP BY k) AS net ON net.k = w % {n}
            JOIN current_members cm ON cm.k = net.k AND cm.rn = (w / {n} + s * 7) % net.members + 1
            ON CONFLICT DO NOTHING
            """,
        ),
        # Status by m % 20: draft, negotiation, signed (effective later), terminated, expired,
        # superseded, and active (the rest); nothing is due for a transition today.
        (
            "MoUs",
            f"""
            INSERT INTO mous (id, network_id, title, reference_number, status, effective_date, end_date,
                              review_due_date, signed_on, activated_on, terminated_on, termination_reason,
                              superseded_on, created_at)
            SELECT md5('mou' || m)::uuid, bn.id, 'Memorandum of understanding ' || m, 'BENCH/' || m,
                   st::mou_status,
                   CASE WHEN st = 'draft' OR st = 'terminated' THEN NULL
                        WHEN st = 'signed' THEN current_date + 30 + m % 300
                        ELSE date '2019-01-01' + m % 1500 END,
                   CASE WHEN st IN ('expired', 'superseded') THEN date '2019-01-01' + m % 1500 + 10 END,
                   CASE WHEN st = 'active' THEN current_date + 200 + m % 700 END,
                   CASE WHEN st IN ('signed', 'active', 'expired', 'superseded')
                        THEN LEAST(date '2019-01-01' + m % 1500, current_date) - 10 END,
                   CASE WHEN st IN ('active', 'expired', 'superseded') THEN date '2019-01-01' + m % 1500 END,
                   CASE WHEN st = 'terminated' THEN date '2020-01-01' + m % 1000 END,
                   CASE WHEN st = 'terminated' THEN 'Replaced by a joint programme' END,
                   CASE WHEN st = 'superseded' THEN date '2019-01-01' + m % 1500 + 10 END,
                   timestamptz '2018-06-01' + make_interval(days => m % 1500)
            FROM generate_series(0, {size.mous} - 1) AS m
            CROSS JOIN LATERAL (
                SELECT (ARRAY['draft', 'negotiation', 'signed', 'terminated', 'expired', 'superseded'])[m % 20 + 1]
            ) AS s0(s)
            CROSS JOIN LATERAL (SELECT COALESCE(s0.s, 'active') AS st) AS s1
            JOIN bench_networks bn ON bn.k = m % {n}
            """,
        ),
        (
            "MoU parties, areas and their objectives",
            f"""
            CREATE TEMP TABLE mou_pairs AS
            SELECT m, md5('mou' || m)::uuid AS mou_id, a.id AS first_party, b.id AS second_party,
                   mo.status IN ('signed', 'active', 'expired', 'superseded') AS signed, mo.signed_on
            FROM generate_series(0, {size.mous} - 1) AS m
            JOIN mous mo ON mo.id = md5('mou' || m)::uuid
            JOIN un_entities a ON a.rn = m % (SELECT count(*) FROM un_entities) + 1
            JOIN un_entities b
              ON b.rn = (m + 1 + (m / 50) % ((SELECT count(*) FROM un_entities) - 1)) % (SELECT count(*) FROM un_entities) + 1;
            INSERT INTO mou_parties (mou_id, entity_id, signatory_name, signatory_title, signed_on)
            SELECT mou_id, party, CASE WHEN signed THEN 'Signatory of ' || m END,
                   CASE WHEN signed THEN 'Director' END, CASE WHEN signed THEN signed_on END
            FROM mou_pairs, LATERAL (VALUES (first_party), (second_party)) AS p(party);
            INSERT INTO mou_areas (id, mou_id, position, description, lead_entity_id)
            SELECT md5('area' || m || '.' || a)::uuid, mou_id, a, 'Area of responsibility ' || a,
                   CASE WHEN a = 1 THEN first_party ELSE second_party END
            FROM mou_pairs, generate_series(1, 2) AS a;
            INSERT INTO mou_area_objectives (area_id, objective_number)
            SELECT md5('area' || m || '.' || a)::uuid, (m + a * 11) % 23 + 1 FROM mou_pairs, generate_series(1, 2) AS a
            """,
        ),
        # Past meetings over eight years (held, or cancelled), future ones from two days on
        # (scheduled, a reminder a day before: none due yet).
        (
            "meetings",
            f"""
            INSERT INTO meetings (id, network_id, working_group_id, kind, title, starts_at, ends_at, time_zone,
                                  location, status, sequence, reminder_minutes, cancel_reason, minutes,
                                  created_at)
            SELECT md5('mt' || t)::uuid, bn.id,
                   CASE WHEN kind = 'working_group'
                        THEN md5('w' || ((t / {n}) % ({size.working_groups} / {n}) * {n} + t % {n}))::uuid END,
                   kind::meeting_kind, 'Meeting ' || t, starts_at, starts_at + interval '2 hours', 'Europe/Zurich',
                   'Geneva', status::meeting_status, CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END, '{{1440}}',
                   CASE WHEN status = 'cancelled' THEN 'Postponed' END,
                   CASE WHEN status = 'held' THEN 'Minutes of meeting ' || t END,
                   starts_at - interval '30 days'
            FROM generate_series(0, {size.meetings} - 1) AS t
            CROSS JOIN LATERAL (SELECT ((t::bigint * 7919) % (9 * 8760) - 8 * 8760)::int AS h) AS offset_hours
            CROSS JOIN LATERAL (
                SELECT date_trunc('hour', now()) + make_interval(hours => h + CASE WHEN h >= 0 THEN 48 ELSE 0 END)
                       AS starts_at,
                       CASE WHEN t % 10 < 6 THEN 'working_group' WHEN t % 10 < 8 THEN 'executive_committee'
                            WHEN t % 10 = 8 THEN 'extended_membership' ELSE 'other' END AS kind
            ) AS shape
            CROSS JOIN LATERAL (
                SELECT CASE WHEN starts_at > now() THEN 'scheduled' WHEN t % 17 = 0 THEN 'cancelled'
                            ELSE 'held' END AS status
            ) AS state
            JOIN bench_networks bn ON bn.k = t % {n}
            """,
        ),
        (
            "meeting invitees (extended membership meetings) and reminders (scheduled ones)",
            f"""
            INSERT INTO meeting_invitees (id, meeting_id, entity_id, attended)
            SELECT md5('inv' || t || '.' || x)::uuid, md5('mt' || t)::uuid, ue.id,
                   CASE WHEN mt.status = 'held' THEN (t + x) % 4 <> 0 END
            FROM generate_series(8, {size.meetings} - 1, 10) AS t
            CROSS JOIN generate_series(0, 2) AS x
            JOIN meetings mt ON mt.id = md5('mt' || t)::uuid
            JOIN un_entities ue ON ue.rn = (t / 10 + x * 13) % (SELECT count(*) FROM un_entities) + 1;
            INSERT INTO meeting_reminders (id, meeting_id, minutes_before, due_at)
            SELECT md5('rem' || id::text)::uuid, id, 1440, starts_at - interval '1 day'
            FROM meetings WHERE status = 'scheduled' AND title LIKE 'Meeting %'
            """,
        ),
        (
            "webhook endpoints (disabled: the history's)",
            f"""
            INSERT INTO webhook_endpoints (id, url, description, event_types, enabled, disabled_reason,
                                           owner_principal_id, owner_role, secret, secrets_key_id)
            SELECT md5('hook' || h)::uuid, 'https://hooks' || h || '.example.org/registry', 'Benchmark history',
                   '{{*}}', false, 'benchmark history', 'bench', 'admin', 'never delivered', 'none'
            FROM generate_series(0, {size.webhook_endpoints} - 1) AS h
            """,
        ),
        # Two years of history, oldest first; published (the relay has nothing to do).
        (
            "events",
            f"""
            INSERT INTO events (id, type, subject_type, subject_id, network_id, actor, payload, occurred_at,
                                published_at)
            SELECT {EVENT_ID.format(e="e")}, ty.type, ty.subject_type,
                   CASE ty.subject_type
                       WHEN 'membership' THEN {MEMBERSHIP_ID.format(p=f"(e % {pairs})", j="0")}
                       WHEN 'entity' THEN {ENTITY_ID.format(i=f"(e % {size.entities} + 1)")}
                       WHEN 'working_group' THEN md5('w' || e % {size.working_groups})::uuid
                       WHEN 'mou' THEN md5('mou' || e % {size.mous})::uuid
                       ELSE md5('mt' || e % {size.meetings})::uuid END,
                   bn.id, 'bench', jsonb_build_object('changes', jsonb_build_object('version', e % 7 + 1)),
                   at, at
            FROM generate_series(0, {size.events} - 1) AS e
            CROSS JOIN LATERAL (
                SELECT now() - make_interval(secs => ({size.events} - e)::float8 * 63072000 / {size.events}) AS at
            ) AS t
            CROSS JOIN LATERAL (
                SELECT (ARRAY['membership.created', 'membership.updated', 'entity.updated', 'working_group.updated',
                              'mou.updated', 'meeting.updated', 'meeting.created', 'meeting.reminder_due'])[e % 8 + 1]
                       AS type,
                       (ARRAY['membership', 'membership', 'entity', 'working_group', 'mou', 'meeting', 'meeting',
                              'meeting'])[e % 8 + 1] AS subject_type
            ) AS ty
            JOIN bench_networks bn ON bn.k = e % {n}
            """,
        ),
        # One webhook delivery for every 20th event (a few still pending, retried in an hour),
        # an e-mail for every 50th, an audit entry for every 10th.
        (
            "webhook and e-mail deliveries, audit log",
            f"""
            INSERT INTO webhook_deliveries (id, event_id, endpoint_id, status, attempts, next_attempt_at,
                                            last_status_code, succeeded_at, created_at, network_id)
            SELECT md5('wd' || e)::uuid, {EVENT_ID.format(e="e")}, md5('hook' || (e / 20) % {size.webhook_endpoints})::uuid,
                   st::webhook_delivery_status, CASE WHEN st = 'succeeded' THEN 1 ELSE 3 END,
                   CASE WHEN st = 'pending' THEN now() + interval '1 hour' ELSE ev.occurred_at END,
                   CASE WHEN st = 'succeeded' THEN 204 ELSE 503 END,
                   CASE WHEN st = 'succeeded' THEN ev.occurred_at END, ev.occurred_at, ev.network_id
            FROM generate_series(0, {size.events} - 1, 20) AS e
            JOIN events ev ON ev.id = {EVENT_ID.format(e="e")}
            CROSS JOIN LATERAL (
                SELECT CASE WHEN e >= {size.events} - 2000 AND e % 200 = 0 THEN 'pending'
                            WHEN e % 400 = 20 THEN 'failed' ELSE 'succeeded' END AS st
            ) AS s;
            INSERT INTO email_deliveries (id, event_id, recipient, kind, status, attempts, next_attempt_at,
                                          sent_at, created_at, network_id)
            SELECT md5('ed' || e)::uuid, {EVENT_ID.format(e="e")}, 'focal' || e % 997 || '@example.org', 'notification',
                   'succeeded', 1, ev.occurred_at, ev.occurred_at, ev.occurred_at, ev.network_id
            FROM generate_series(0, {size.events} - 1, 50) AS e JOIN events ev ON ev.id = {EVENT_ID.format(e="e")};
            INSERT INTO audit_log (id, occurred_at, principal_id, principal_role, action, resource_type,
                                   resource_id, network_id, after)
            SELECT md5('au' || e)::uuid, ev.occurred_at, 'bench', 'admin', ev.type,
                   ev.subject_type, ev.subject_id, ev.network_id, ev.payload
            FROM generate_series(0, {size.events} - 1, 10) AS e JOIN events ev ON ev.id = {EVENT_ID.format(e="e")}
            """,
        ),
    ]


def _un_entities(entities: int) -> int:
    return 50 + sum(1 for i in range(51, entities + 1) if i % 10 != 0)


# Not memberships: the overlap trigger looks each new row up by entity.
BULK_TABLES = ("events", "meetings", "meeting_invitees", "webhook_deliveries", "email_deliveries", "audit_log")


async def _drop_secondary_indexes(conn: asyncpg.Connection) -> list[str]:
    """The indexes of the bulk tables that back no constraint (and no trigger's lookups that
    must stay fast): dropped while rows pour in, built again from their own definitions after."""
    rows = await conn.fetch(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        list(BULK_TABLES),
    )
    for row in rows:
        await conn.execute(f'DROP INDEX "{row["indexname"]}"')
    return [row["indexdef"] for row in rows]


# Raised whenever what a size generates changes, so that a database made before is made again.
GENERATION = 3  # 2: events' ids ordered as their history; 3: migration 0017 (deliveries' networks)


def _recorded(size: Size) -> dict[str, object]:
    return {**asdict(size), "generation": GENERATION}


async def _database_ready(admin: asyncpg.Connection, url: str, size: Size) -> bool:
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", size.database):
        return False
    conn = await asyncpg.connect(plain_dsn(with_database(url, size.database)))
    try:
        recorded = await conn.fetchval("SELECT to_regclass('bench_size') IS NOT NULL")
        if not recorded:
            return False
        params = await conn.fetchval("SELECT params FROM bench_size")
        return params is not None and json.loads(params) == _recorded(size)
    finally:
        await conn.close()


def migrate(bench_url: str) -> None:
    subprocess.run(
        [str(BIN / "registry"), "migrate"],
        env={**os.environ, "DATABASE_URL": bench_url, "LOAD_DEMO_DATA": "false", "LOG_LEVEL": "WARNING"},
        check=True,
        cwd=ROOT,
    )


async def ensure_database(url: str, size: Size, *, log: bool = True) -> tuple[str, float | None]:
    """The URL of the database holding ``size`` (generated now if it is not there yet) and how
    long generating took (None when reused)."""
    bench_url = with_database(url, size.database)
    admin = await asyncpg.connect(plain_dsn(with_database(url, "postgres")))
    try:
        if await _database_ready(admin, url, size):
            await asyncio.to_thread(migrate, bench_url)  # a newer revision since: applied, data kept
            if log:
                print(f"reusing {size.database} ({size})", flush=True)
            return bench_url, None
        await admin.execute(f'DROP DATABASE IF EXISTS "{size.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{size.database}"')
    finally:
        await admin.close()
    started = time.monotonic()
    await asyncio.to_thread(migrate, bench_url)
    conn = await asyncpg.connect(plain_dsn(bench_url))
    try:
        await conn.execute("SET synchronous_commit = off; SET maintenance_work_mem = '256MB'; SET work_mem = '64MB'")
        indexes = await _drop_secondary_indexes(conn)
        for what, sql in statements(size):
            step = time.monotonic()
            await conn.execute(sql)
            if what:  # the next statements join what this one wrote: plan them on real counts
                await conn.execute("ANALYZE")
            if what and log:
                print(f"  {what}: {time.monotonic() - step:.1f} s", flush=True)
        step = time.monotonic()
        for indexdef in indexes:
            await conn.execute(indexdef)
        if log:
            print(f"  indexes built again: {time.monotonic() - step:.1f} s", flush=True)
        step = time.monotonic()
        await conn.execute("VACUUM (ANALYZE)")  # as autovacuum would have by now: index-only scans
        if log:
            print(f"  vacuum and analyze: {time.monotonic() - step:.1f} s", flush=True)
        await conn.execute(
            "CREATE TABLE bench_size (params jsonb NOT NULL, generated_at timestamptz NOT NULL DEFAULT now(),"
            " seconds float8 NOT NULL)"
        )
        seconds = time.monotonic() - started
        await conn.execute(
            "INSERT INTO bench_size (params, seconds) VALUES ($1::jsonb, $2)", json.dumps(_recorded(size)), seconds
        )
    finally:
        await conn.close()
    if log:
        print(f"generated {size.database} in {seconds:.0f} s", flush=True)
    return bench_url, seconds


def main() -> None:
    size = size_from_env()
    print(f"generating {size}", flush=True)
    asyncio.run(ensure_database(server_url(), size))


if __name__ == "__main__":
    main()
