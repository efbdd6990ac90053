"""The plumbing of the CI stack check (stack_check.py): the Compose project, its commands,
its containers, and the receiver's and the API's records."""

import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks import Webhook

ROOT = Path(__file__).resolve().parents[2]
PROJECT = os.environ.get("CI_STACK_PROJECT", "registry-ci")
IMAGE, TAG = os.environ.get("REGISTRY_IMAGE", "migration-network-registry"), os.environ.get("TAG", "ci")
# The previous release's image (docker/PREVIOUS_RELEASE; docker/ci-stack.sh builds it), tagged
# with its version: the stack starts on it, rolls upgrade to TAG, and rolls back to it.
PREVIOUS_VERSION = os.environ.get("PREVIOUS_VERSION") or next(
    line.split("=", 1)[1].strip()
    for line in (ROOT / "docker/PREVIOUS_RELEASE").read_text().splitlines()
    if line.startswith("PREVIOUS_VERSION=")
)
HTTPS_PORT = os.environ.get("CI_STACK_HTTPS_PORT", "18150")
MAIL_PORT = os.environ.get("CI_STACK_MAIL_PORT", "18151")
HTTP_PORT = os.environ.get("CI_STACK_HTTP_PORT", "18152")
BASE_URL = f"https://127.0.0.1:{HTTPS_PORT}"
# The dev profile's secrets (dev-secrets writes them): passwords, the CA, the proxy's certificate.
SECRETS = Path(tempfile.mkdtemp(prefix="registry-ci-secrets-"))
CA = SECRETS / "ca.crt"
RECEIVER = f"{PROJECT}-webhook-receiver"
ENTITIES = int(os.environ.get("CI_STACK_ENTITIES", "40"))
ENV = {
    **os.environ,
    "SECRETS_DIR": str(SECRETS),
    "TLS_CERTIFICATE_FILE": str(SECRETS / "tls.crt"),
    "TLS_KEY_FILE": str(SECRETS / "tls.key"),
    "REGISTRY_IMAGE": IMAGE,
    "TAG": TAG,
    # The proxy stays this build's while the registry's containers move between releases.
    "PROXY_TAG": TAG,
    "HTTPS_PORT": HTTPS_PORT,
    "HTTP_PORT": HTTP_PORT,
    # The development profile: mail goes to the catcher, whose messages the check reads.
    "COMPOSE_PROFILES": "dev",
    "SMTP_HOST": "mailpit",
    "SMTP_PORT": "1025",
    "SMTP_STARTTLS": "false",
    "MAILPIT_UI_PORT": MAIL_PORT,
    "PUBLISH_ADDRESS": "127.0.0.1",
    "PUBLIC_BASE_URL": BASE_URL,
    # A backup a minute, two kept: the check sees the schedule and the retention at work.
    "BACKUP_INTERVAL_SECONDS": "60",
    "BACKUP_KEEP": "2",
    "LOAD_DEMO_DATA": "true",
    "WEBHOOK_ALLOWED_PRIVATE_HOSTS": '["webhook-receiver"]',
    "SECRETS_ENCRYPTION_KEYS": "ci:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    "INVITATION_LINK_KEYS": "ci:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    # A delivery cut off by the SIGKILL is sent again after this (the receiver answers in 1 s).
    "WEBHOOK_LEASE_SECONDS": "20",
}
COMPOSE = [
    *os.environ.get("COMPOSE", "docker compose").split(),
    *("-p", PROJECT, "-f", str(ROOT / "docker/compose.yaml"), "-f", str(ROOT / "docker/compose.ci.yaml")),
]
STARTED = time.monotonic()
RESULTS: list[str] = []


def say(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def ok(message: str) -> None:
    RESULTS.append(message)
    say("ok: " + message)


def run(*args: str, check: bool = True, timeout: float = 600, stdin: Any = None) -> subprocess.CompletedProcess[str]:
    # The commands are this script's own (docker, compose), never input from elsewhere.
    result = subprocess.run(args, env=ENV, capture_output=True, text=True, timeout=timeout, check=False, stdin=stdin)  # noqa: S603
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def compose(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return run(*COMPOSE, *args, **kwargs)


def containers(service: str | None = None) -> list[dict[str, Any]]:
    out = compose("ps", "--all", "--format", "json", *([service] if service else [])).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [row for line in rows for row in (line if isinstance(line, list) else [line])]


def wait_until(what: str, probe: Callable[[], Any], within: float) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:.0f}s")
        time.sleep(1)


def up() -> None:
    started = time.monotonic()
    result = compose("up", "--detach", "--wait", "--wait-timeout", "300", "--no-build", check=False)
    if result.returncode != 0:
        print(compose("ps", "--all").stdout, compose("logs", "--tail", "60").stdout, file=sys.stderr)
        raise AssertionError(f"compose up --wait failed:\n{result.stderr}")
    states = {(c["Service"], c["Name"]): (c["State"], c.get("Health", ""), c.get("ExitCode")) for c in containers()}
    for (service, name), (state, health, exit_code) in states.items():
        if service in ("migrate", "dev-secrets"):
            assert state == "exited" and exit_code == 0, f"{name}: {state}, exit {exit_code}"
        else:
            assert state == "running", f"{name}: {state}"
            assert health in ("", "healthy"), f"{name}: {health}"
    healthy = sorted(s for (s, _), (_, h, _) in states.items() if h == "healthy")
    ok(
        f"compose up --wait in {time.monotonic() - started:.0f}s: healthy {', '.join(healthy)}; running worker x2, scheduler"
    )


def received() -> list[dict[str, Any]]:
    out = run("docker", "exec", RECEIVER, "cat", "/tmp/hooks.jsonl").stdout  # noqa: S108
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def verified(hook: dict[str, Any], secret: str) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(hook["body"], hook["headers"])
    return payload


def api(key: str) -> httpx.Client:
    """The API as a client reaches it: through the proxy, over HTTPS, trusting the dev CA only."""
    return httpx.Client(base_url=BASE_URL, headers={"Authorization": f"Bearer {key}"}, timeout=30, verify=str(CA))


def secret_text(name: str) -> str:
    return (SECRETS / name).read_text().strip()


def make_secrets() -> None:
    """docker/compose.yaml's dev profile: `run --rm dev-secrets` (into a folder of the check's own)."""
    SECRETS.chmod(0o755)
    out = compose("--profile", "dev", "run", "--rm", "dev-secrets").stdout
    for name in ("postgres_password", "rabbitmq_password", "ca.crt", "tls.crt", "tls.key"):
        assert (SECRETS / name).stat().st_size > 0, f"dev-secrets wrote no {name}: {out}"
    assert compose("--profile", "dev", "run", "--rm", "dev-secrets").stdout.count("kept") == 2, (
        "a second run regenerated"
    )
    ok(
        "dev profile: `run --rm dev-secrets` wrote both passwords, a CA and the proxy's certificate (a second run kept them)"
    )


def deliveries(client: httpx.Client, endpoint_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 200}
    while True:
        page = client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries", params=params).json()
        rows += page["items"]
        if not page.get("next_cursor"):
            return rows
        params["cursor"] = page["next_cursor"]


def psql(sql: str) -> str:
    return compose("exec", "-T", "postgres", "psql", "-U", "registry", "-d", "registry", "-tAc", sql).stdout.strip()
