"""What the dated records say was in force on a day, written once in SQL: the indicators
and the activity report build on these, so they count the same groups, MoUs and coverage.

``day`` is a SQL expression for the day (a bind parameter or a column); the fragments are
this module's constants, never input, and expect ``:network_id`` to be bound. A statement
that embeds them must not name a CTE after a table they read (``mous``, ``working_groups``):
the CTE would shadow it."""


def active_groups_on(day: str) -> str:
    """Working groups active on the day: activated by it and not yet closed."""
    return (
        "SELECT g.id, g.name, g.translations FROM working_groups g "  # noqa: S608 - constant fragments
        f"WHERE g.network_id = :network_id AND g.activated_on <= {day} "
        f"AND (g.closed_on IS NULL OR g.closed_on > {day})"
    )


def mous_in_force_on(day: str) -> str:
    """MoUs in force on the day: active by it, and not yet terminated, superseded or ended."""
    return (
        "SELECT m.* FROM mous m "  # noqa: S608 - constant fragments
        f"WHERE m.network_id = :network_id AND m.activated_on <= {day} "
        f"AND (m.terminated_on IS NULL OR m.terminated_on > {day}) "
        f"AND (m.superseded_on IS NULL OR m.superseded_on > {day}) "
        f"AND (m.end_date IS NULL OR m.end_date >= {day})"
    )


def objective_coverage_on(day: str) -> str:
    """One row per GCM objective on the day: ``coverage`` is ``contested`` when two or more
    different parties lead MoU areas on it, ``uncovered`` when no active group or MoU area
    covers it, else ``covered``; with the groups and areas on it (the groups' names also with
    their translations, for a reader in another language)."""
    return f"""
WITH active_groups AS ({active_groups_on(day)}),
active_mous AS ({mous_in_force_on(day)}),
groups AS (
    SELECT o.objective_number, count(*) AS n, string_agg(a.name, '; ' ORDER BY a.name, a.id) AS names,
           jsonb_agg(jsonb_build_object('name', a.name, 'translations', a.translations) ORDER BY a.name, a.id)
               AS named
    FROM active_groups a JOIN working_group_objectives o ON o.working_group_id = a.id
    GROUP BY o.objective_number
),
areas AS (
    SELECT o.objective_number, count(*) AS n, count(DISTINCT ar.lead_entity_id) AS leads,
           string_agg(DISTINCT e.acronym, '; ' ORDER BY e.acronym) AS lead_parties
    FROM active_mous a
    JOIN mou_areas ar ON ar.mou_id = a.id
    JOIN mou_area_objectives o ON o.area_id = ar.id
    JOIN entities e ON e.id = ar.lead_entity_id
    GROUP BY o.objective_number
)
SELECT g.number AS objective, g.title,
       CASE WHEN ar.leads >= 2 THEN 'contested' WHEN gr.n IS NULL AND ar.n IS NULL THEN 'uncovered' ELSE 'covered' END
           AS coverage,
       coalesce(gr.n, 0) AS working_groups, coalesce(ar.n, 0) AS mou_areas,
       gr.names AS working_group_names, ar.lead_parties,
       gr.named AS working_group_translations
FROM gcm_objectives g
LEFT JOIN groups gr ON gr.objective_number = g.number
LEFT JOIN areas ar ON ar.objective_number = g.number
ORDER BY g.number
"""  # noqa: S608 - constant fragments
