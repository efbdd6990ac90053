"""Schemathesis in the suite: every operation of the OpenAPI document, every check, every phase,
as each role (an admin, two focal points, a reader, an integrator), against the real API process on real PostgreSQL; zero
failures. Bounded and derandomised so it fits the suite's budget (`make fuzz` runs it long)."""

import os
from pathlib import Path

import schemathesis
from schemathesis.config import SchemathesisConfig

from tests.conftest import ROOT
from tests.fuzz import DETERMINISTIC, run_fuzz
from tests.served_app import served_app

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "test-artifacts"))


def test_schemathesis_finds_no_failure_in_any_role(migrated_database):
    document = served_app().openapi()
    operations = sum(len(item) for item in document["paths"].values())
    runs = run_fuzz(max_examples=3, seed=DETERMINISTIC, artifacts=ARTIFACTS)
    for run in runs:
        print(f"schemathesis as {run.caller}: {run.operations} operations, {run.cases} cases, {run.failures} failures")
        assert run.exit_code == 0 and run.failures == 0, run.output[-6000:]
        assert run.operations == operations, run.output[-3000:]
        assert run.cases > operations


def test_every_write_with_if_match_may_answer_stale_and_missing_etags():
    """A stale If-Match is 412 and a missing required one 428 on every operation that takes the
    header, in every phase, whatever route adds it: the rule in schemathesis.toml is read from
    the document, and an operation it misses would fail the fuzz run by chance, not every time."""
    config = SchemathesisConfig.from_path(ROOT / "schemathesis.toml")
    schema = schemathesis.openapi.from_dict(served_app().openapi(), config=config)
    with_if_match = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not any(header.name.lower() == "if-match" for header in operation.headers):
            continue
        with_if_match.append(operation.label)
        for phase in ("examples", "coverage", "fuzzing", "stateful"):
            checks = schema.config.checks_config_for(operation=operation, phase=phase)
            statuses = set(checks.positive_data_acceptance.expected_statuses)
            assert {"412", "428"} <= statuses, (operation.label, phase, sorted(statuses))
    assert "PATCH /v1/workplans/{workplan_id}" in with_if_match
