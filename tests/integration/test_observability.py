"""Observability with every process real: `registry serve`, `registry worker` (two dramatiq
processes) and `registry scheduler` on RabbitMQ, a real webhook receiver and a real SMTP
server. One write (a meeting with an external invitee) causes a webhook to one receiver, a
410 from another (which disables it) and an invitation e-mail. Then:

- each process's metrics are scraped, and every metric docs/OPERATIONS.md names is found, non-zero
  where the traffic happened;
- the request's X-Request-ID is followed to its receipt: the receiver and the mail carry it,
  the worker's JSON log lines carry it, and `registry trace` shows the change, its events and
  every delivery with its outcome;
- `registry status` and `registry deliveries` report what happened."""

import asyncio
import json
import re
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.database import get_database
from tests.conftest import ROOT, committed_admin_key
from tests.factories import make_network
from tests.integration.stack import BIN, Stack, free_port, rabbitmq_url
from tests.smtp_server import smtp_server
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.integration

Samples = dict[str, list[tuple[dict[str, str], float]]]
UUID_LIKE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")


def scrape(port: int) -> Samples:
    """Every sample on a process's /metrics, by sample name."""
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``; fails when there is none."""
    assert name in samples, f"{name} is not exposed; found {sorted(samples)}"
    matching = [v for found, v in samples[name] if all(found.get(k) == want for k, want in labels.items())]
    assert matching, f"{name} has no sample with {labels}: {samples[name]}"
    return sum(matching)


def wait_for(condition, what: str, stack: Stack, within: float = 60.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            result = condition()
        except (httpx.TransportError, AssertionError):
            result = None
        if result:
            return result
        time.sleep(0.3)
    logs = "\n".join(f"--- {name}\n{stack.log(name)[-4000:]}" for name in stack.processes)
    raise AssertionError(f"{what} did not happen within {within} s\n{logs}")


def registry(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "registry"), *args], cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def smtp():
    with smtp_server() as running:
        yield running


@pytest.fixture
def stack(committed, tmp_path: Path):
    s = Stack(tmp_path, rabbitmq_url())
    yield s
    s.stop()


async def test_metrics_logs_and_one_request_id_from_request_to_receipt(stack, smtp):
    inbox, smtp_port = smtp
    receiver, gone = Receiver(), Receiver(script=[410])
    api_port, worker_port, scheduler_port = free_port(), free_port(), free_port()
    stack.env.update(
        API_METRICS_PORT=str(api_port),
        WORKER_METRICS_PORT=str(worker_port),
        SCHEDULER_METRICS_PORT=str(scheduler_port),
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        LOG_FORMAT="json",
    )
    try:
        key = await committed_admin_key()
        async with get_database().session() as session:
            network = await make_network(session)
        await asyncio.to_thread(stack.start_api)
        stack.start("worker", "registry", "worker", "--processes", "2", "--threads", "2")
        stack.start_scheduler()
        client = httpx.AsyncClient(base_url=stack.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=10)
        endpoints = {}
        for name, target in (("receiver", receiver), ("gone", gone)):
            response = await client.post(
                "/v1/webhook-endpoints", json={"url": target.url, "event_types": ["meeting.*"]}
            )
            assert response.status_code == 201, response.text
            endpoints[name] = response.json()["id"]

        request_id = f"trace-{uuid.uuid4().hex}"
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=20)
        response = await client.post(
            "/v1/meetings",
            headers={"X-Request-ID": request_id},
            json={
                "network_id": str(network["id"]),
                "kind": "other",
                "title": "Consultation on regular pathways",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=2)).isoformat(),
                "time_zone": "UTC",
                "location": "Geneva",
                "invitees": [{"name": "Migrant Forum", "email": "mf@example.org"}],
            },
        )
        assert response.status_code == 201, response.text
        assert response.headers["x-request-id"] == request_id
        assert (await client.get(f"/v1/meetings/{response.json()['id']}")).status_code == 200
        await client.aclose()

        # Receipt: the webhook, the 410 that disables the other endpoint, the invitation.
        [delivered] = await asyncio.to_thread(wait_for, lambda: receiver.requests, "the webhook's receipt", stack)
        assert delivered["headers"]["x-request-id"] == request_id
        assert json.loads(delivered["body"])["type"] == "meeting.created"
        await asyncio.to_thread(wait_for, lambda: gone.requests, "the 410", stack)
        [invitation] = await asyncio.to_thread(wait_for, lambda: inbox.messages, "the invitation e-mail", stack)
        assert invitation["X-Request-ID"] == request_id and invitation["To"] == "mf@example.org"

        # `registry trace`: the change, its events, every delivery with its outcome.
        def traced() -> dict | None:
            result = registry(stack, "trace", request_id, "--json")
            assert result.returncode == 0, result.stdout + result.stderr
            found = json.loads(result.stdout)
            outcomes = {d["endpoint_id"]: d["status"] for d in found["webhook_deliveries"]}
            emails = {m["recipient"]: m["status"] for m in found["email_deliveries"]}
            done = outcomes.get(endpoints["receiver"]) == "succeeded" and outcomes.get(endpoints["gone"]) == "failed"
            return found if done and emails.get("mf@example.org") == "succeeded" else None

        trace = await asyncio.to_thread(wait_for, traced, "the trace's outcomes", stack)
        # The worker disabled the endpoint while handling this request's delivery: that change
        # and its event carry the same id.
        assert [entry["action"] for entry in trace["audit"]] == ["meeting.created", "webhook_endpoint.disabled"]
        assert [event["type"] for event in trace["events"]] == ["meeting.created", "webhook_endpoint.disabled"]
        [to_receiver] = [d for d in trace["webhook_deliveries"] if d["endpoint_id"] == endpoints["receiver"]]
        assert to_receiver["webhook_id"] == delivered["headers"]["webhook-id"]
        assert to_receiver["request_id"] == request_id and to_receiver["attempt_log"][0]["status_code"] == 200
        readable = registry(stack, "trace", request_id).stdout
        assert "meeting.created" in readable and "succeeded" in readable and "mf@example.org" in readable
        assert registry(stack, "trace", "no-such-request").returncode == 1

        # The worker's log lines are JSON and carry the request id.
        worker_lines = [json.loads(line) for line in stack.log("worker").splitlines() if line.startswith("{")]
        mine = [line for line in worker_lines if line.get("request_id") == request_id]
        assert any(line["logger"] == "worker.webhooks" for line in mine), stack.log("worker")[-3000:]
        assert all({"time", "level", "logger", "message"} <= set(line) for line in worker_lines)
        # The API's access line: JSON, with the route template, principal, status and duration.
        api_lines = [json.loads(line) for line in stack.log("api").splitlines() if line.startswith("{")]
        [access] = [
            line for line in api_lines if line.get("request_id") == request_id and line["logger"] == "api.access"
        ]
        assert access["route"] == "/v1/meetings" and access["status"] == 201 and access["principal"].startswith("key:")
        assert access["duration_ms"] > 0

        # Metrics: the API's requests and pool, and its limits (one wrong key; no store configured).
        wrong_key = {"Authorization": f"Bearer mnr_0000beef_{'W' * 43}"}
        async with httpx.AsyncClient(base_url=stack.base_url, headers=wrong_key, timeout=10) as guesser:
            wrong = await guesser.get("/v1/networks")
        assert wrong.status_code == 401
        api = scrape(api_port)
        assert value(api, "registry_auth_failures_total", kind="api_key") == 1
        assert value(api, "registry_limits_store_errors_total") == 0
        assert value(api, "registry_http_requests_total", route="/v1/meetings", method="POST", status="201") == 1
        assert value(api, "registry_http_request_duration_seconds_count", route="/v1/meetings", status="201") == 1
        assert value(api, "registry_http_requests_total", route="/v1/webhook-endpoints", status="201") == 2
        # Route templates only: no raw path (with its ids) ever becomes a label.
        raw = [labels for labels, _ in api["registry_http_requests_total"] if UUID_LIKE.search(labels["route"])]
        assert not raw, raw
        assert value(api, "registry_http_requests_total", route="/v1/meetings/{meeting_id}", status="200") == 1
        assert value(api, "registry_db_pool_size") > 0
        value(api, "registry_db_pool_connections_in_use")
        value(api, "registry_db_pool_overflow")

        # The worker's, summed over its two processes by the forked metrics server.
        worker = await asyncio.to_thread(
            wait_for,
            lambda: (w := scrape(worker_port)) and value(w, "registry_email_deliveries_total", outcome="sent") and w,
            "the worker's metrics",
            stack,
        )
        assert value(worker, "registry_webhook_deliveries_total", outcome="succeeded") >= 1
        assert value(worker, "registry_webhook_deliveries_total", outcome="disabled") >= 1
        assert value(worker, "registry_webhook_endpoints_disabled_total") >= 1
        # the same outcomes under the engine's one name, by transport
        assert value(worker, "registry_deliveries_total", transport="webhook", outcome="succeeded") >= 1
        assert value(worker, "registry_deliveries_total", transport="email", outcome="succeeded") >= 1
        # one message carries both endpoints' deliveries of the event (they are batched)
        assert value(worker, "registry_worker_messages_total", actor="webhooks.deliver", outcome="ok") >= 1
        assert value(worker, "registry_worker_messages_total", actor="events.relay") >= 1
        assert value(worker, "registry_worker_message_duration_seconds_count", actor="mail.send") >= 1
        # Their connection pools, sampled each second in each worker process and summed.
        value(worker, "registry_db_pool_connections_in_use")
        value(worker, "registry_db_pool_overflow")

        # The scheduler's: its sweeps, and the gauges read from the database and the broker.
        scheduler = scrape(scheduler_port)
        assert value(scheduler, "registry_scheduler_sweep_last_run_timestamp_seconds", sweep="sweep_due_deliveries") > (
            time.time() - 60
        )
        assert value(scheduler, "registry_scheduler_sweep_duration_seconds_count", sweep="sweep_pending_events") > 0
        assert value(scheduler, "registry_metrics_database_up") == 1
        assert value(scheduler, "registry_webhook_endpoints_disabled") == 1
        assert value(scheduler, "registry_outbox_pending_events") >= 0
        assert value(scheduler, "registry_outbox_oldest_pending_age_seconds") >= 0
        assert value(scheduler, "registry_deliveries_due", kind="webhook") >= 0
        assert value(scheduler, "registry_deliveries_oldest_due_age_seconds", kind="email") >= 0
        assert value(scheduler, "registry_deliveries_by_state", transport="webhook", state="waiting_for_retry") >= 0
        assert value(scheduler, "registry_deliveries_by_state", transport="email", state="failed") >= 0
        value(scheduler, "registry_webhook_endpoints_failing")
        assert value(scheduler, "registry_queue_messages", queue="default") >= 0
        assert value(scheduler, "registry_review_cycles_overdue") >= 0
        assert value(scheduler, "registry_recommendations_overdue") >= 0
        assert value(scheduler, "registry_db_pool_size") > 0

        # `registry status`: everything answers; the disabled endpoint is listed.
        status = registry(stack, "status", "--json")
        report = json.loads(status.stdout)
        assert status.returncode == 0, status.stdout + status.stderr
        assert report["database"]["status"] == "up" and report["broker"]["status"] == "up"
        assert report["migrations"]["status"] == "at head" and report["scheduler_status"] == "up"
        assert [e["id"] for e in report["failing_endpoints"]] == [endpoints["gone"]]
        assert {"sweep_due_deliveries", "sweep_pending_events"} <= {s["name"] for s in report["sweeps"]}
        readable = registry(stack, "status")
        assert readable.returncode == 0 and "OK" in readable.stdout and "disabled" in readable.stdout

        # `registry deliveries`: the failed one is listed; a replay to a disabled endpoint is refused.
        listed = registry(stack, "deliveries", "list", "--json")
        failed = json.loads(listed.stdout)["webhook"]
        assert [d["endpoint_id"] for d in failed] == [endpoints["gone"]]
        refused = registry(stack, "deliveries", "replay", "--id", failed[0]["id"])
        assert refused.returncode != 0 and "disabled" in refused.stderr
    finally:
        receiver.close()
        gone.close()
