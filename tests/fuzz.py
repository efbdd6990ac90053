"""Schemathesis against the registry as a new user meets it: the real API process (`registry
serve`) on real PostgreSQL with the demo data, every check and every phase (examples, coverage,
fuzzing, stateful), once as an admin and once as a focal point, with the settings and expected
statuses of schemathesis.toml. Callers sign in with bearer tokens from a loopback identity
provider, so the fuzzer cannot lock itself out by revoking its own API key.

``make test`` runs it small and derandomised (tests/test_schemathesis.py);
``make fuzz`` runs it long and seeded: ``python -m tests.fuzz [max-examples] [seed]`` (seed 0:
deterministic).
"""

import asyncio
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import ROOT, TEST_DATABASE, database_url, recreate_database
from tests.jwks_server import AUDIENCE, ISSUER, IdentityProvider
from tests.live_api import BIN, api_environment, live_api

DETERMINISTIC = 0  # the seed that asks for schemathesis' deterministic mode (what `make test` uses)


@dataclass(frozen=True)
class FuzzRun:
    caller: str
    exit_code: int
    operations: int
    cases: int
    failures: int
    output: str


def _count(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    return int(match.group(1)) if match else 0


def _run_schemathesis(url: str, token: str, caller: str, *, max_examples: int, seed: int, artifacts: Path) -> FuzzRun:
    command = [
        str(BIN / "st"),
        "run",
        f"{url}/openapi.json",
        "--checks=all",
        "--phases=examples,coverage,fuzzing,stateful",
        f"--max-examples={max_examples}",
        *(["--generation-deterministic"] if seed == DETERMINISTIC else [f"--seed={seed}"]),
        # One thread per run (the two callers still run at once, one process each): Hypothesis
        # reads lambdas' source with `ast`, and on Python 3.11 two threads doing so at once can
        # fail with "AST constructor recursion depth mismatch", an error of the tool, not the API.
        "--workers=1",
        # A health check of Hypothesis' drawing, not of the API: dates are drawn from years 1-9999 and
        # filtered to the document's 1900-2999, and with two dates in a body, long runs trip it.
        "--suppress-health-check=filter_too_much",
        "--no-color",
        "--report=junit",
        f"--report-junit-path={artifacts / f'schemathesis-{caller}.xml'}",
        "-H",
        f"Authorization: Bearer {token}",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=3600)
    output = result.stdout + result.stderr
    (artifacts / f"schemathesis-{caller}.log").write_text(output)
    return FuzzRun(
        caller=caller,
        exit_code=result.returncode,
        operations=_count(r"Tested: (\d+)", output),
        cases=_count(r"(\d+) generated", output),
        failures=_count(r"(\d+) unique failures?", output),
        output=output,
    )


def run_fuzz(*, max_examples: int, seed: int, artifacts: Path) -> list[FuzzRun]:
    """Fuzz the API as each role: an admin, two focal points (IOM's, UNHCR's), a reader and an
    integrator; one result per caller."""
    artifacts.mkdir(parents=True, exist_ok=True)
    name = f"{TEST_DATABASE}_fuzz"
    asyncio.run(recreate_database(name))
    env = api_environment(DATABASE_URL=database_url(name), LOAD_DEMO_DATA="true")
    subprocess.run([str(BIN / "registry"), "migrate"], env=env, check=True, capture_output=True, timeout=600)
    provider = IdentityProvider()
    env |= {
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "JWT_JWKS_URL": provider.jwks_url,
        "RATE_LIMIT_PER_MINUTE": "10000000",
        "RATE_LIMIT_BURST": "10000000",
        # Schemathesis sends wrong and missing credentials on purpose, from one address.
        "AUTH_FAILURES_PER_ADDRESS": "10000000",
        "AUTH_FAILURES_PER_KEY_PREFIX": "10000000",
        "CALENDAR_FAILURES_PER_ADDRESS": "10000000",
        "LOG_LEVEL": "WARNING",
    }
    try:
        with live_api(env, artifacts / "schemathesis-api.log") as url:
            return _fuzz(url, provider, max_examples=max_examples, seed=seed, artifacts=artifacts)
    finally:
        provider.close()


def _fuzz(url: str, provider: IdentityProvider, *, max_examples: int, seed: int, artifacts: Path) -> list[FuzzRun]:
    hours = int(time.time()) + 4 * 3600
    admin = provider.token(sub="schemathesis-admin", exp=hours)

    def focal_point(acronym: str) -> str:
        found = httpx.get(
            f"{url}/v1/entities", params={"acronym": acronym}, headers={"Authorization": f"Bearer {admin}"}
        )
        entity_id = found.json()["items"][0]["id"]
        return provider.token(sub=f"schemathesis-{acronym}", mnr_role="focal_point", mnr_entity_id=entity_id, exp=hours)

    callers = (
        ("admin", admin),
        ("focal_point", focal_point("IOM")),
        ("focal_point_unhcr", focal_point("UNHCR")),
        ("reader", provider.token(sub="schemathesis-reader", mnr_role="reader", exp=hours)),
        ("integrator", provider.token(sub="schemathesis-integrator", mnr_role="integrator", exp=hours)),
    )
    with ThreadPoolExecutor(max_workers=2) as pool:  # two schemathesis processes at once (two cores)
        futures = [
            pool.submit(
                _run_schemathesis, url, token, caller, max_examples=max_examples, seed=seed, artifacts=artifacts
            )
            for caller, token in callers
        ]
        return [future.result() for future in futures]


def main() -> None:
    max_examples = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    artifacts = Path(os.environ.get("TEST_ARTIFACTS_DIR", ROOT / "test-artifacts"))
    runs = run_fuzz(max_examples=max_examples, seed=seed, artifacts=artifacts)
    for run in runs:
        print(run.output)
    for run in runs:
        print(f"{run.caller}: {run.operations} operations, {run.cases} cases, {run.failures} failures")
    sys.exit(max(run.exit_code for run in runs))


if __name__ == "__main__":
    main()
