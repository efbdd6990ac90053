"""Schemathesis in the suite: every operation of the OpenAPI document, every check, every phase,
as each role (an admin, two focal points, a reader, an integrator), against the real API process on real PostgreSQL; zero
failures. Bounded and derandomised so it fits the suite's budget (`make fuzz` runs it long)."""

import os
from pathlib import Path

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
