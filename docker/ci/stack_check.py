"""The Compose stack as an operator runs it, checked end to end (docker/ci-stack.sh runs this).

docker/compose.yaml with docker/compose.ci.yaml (locally built images only), on the Docker
engine of this machine: the previous release's image first (docker/PREVIOUS_RELEASE), a
rolling upgrade to this build and, at the end, the rollback to the previous image, each under
a load of reads and writes through the proxy (rolling.py); in between, every service healthy, migrate once, the first admin key as the
README says, a write through the published port reaching a webhook receiver on the Compose
network (signature verified with standardwebhooks) and the mail catcher, every process's metrics
scraped across the network (none published), worker restarts and
SIGKILLs losing nothing, two workers sharing the work, nothing running as root, the data kept
across down/up, and the backup runbook's pg_dump/pg_restore inside the stack.
"""

import email
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import rolling
from stack import (
    BASE_URL,
    CA,
    COMPOSE,
    ENTITIES,
    ENV,
    HTTP_PORT,
    HTTPS_PORT,
    IMAGE,
    MAIL_PORT,
    PREVIOUS_VERSION,
    PROJECT,
    RECEIVER,
    RESULTS,
    ROOT,
    SECRETS,
    STARTED,
    TAG,
    api,
    compose,
    containers,
    deliveries,
    make_secrets,
    ok,
    psql,
    received,
    run,
    say,
    secret_text,
    up,
    verified,
    wait_until,
)


def migrate_ran_once(after: str = "up --wait") -> None:
    [migrate] = containers("migrate")
    assert migrate["State"] == "exited" and migrate["ExitCode"] == 0, migrate
    logs = compose("logs", "--no-color", "migrate").stdout
    assert logs.count("database migrated and seeded") == 1, logs[-2000:]
    ok(f"migrate: one container, ran once, exit 0 (after {after})")


def nobody_is_root() -> None:
    seen = []
    for container in containers():
        if container["Service"] == "dev-secrets":
            continue  # the dev profile's one-shot: root, to give the files it writes to uid 10001
        if container["State"] != "running":
            user = run("docker", "inspect", "-f", "{{.Config.User}}", container["ID"]).stdout.strip()
            assert user and not user.startswith("0") and user != "root", f"{container['Name']} user {user!r}"
            continue
        pid = run("docker", "inspect", "-f", "{{.State.Pid}}", container["ID"]).stdout.strip()
        # The container's main process and everything it started (not `docker exec` probes).
        tree = run("ps", "-e", "-o", "pid=,ppid=,uid=").stdout.split()
        rows = [tuple(map(int, tree[i : i + 3])) for i in range(0, len(tree), 3)]
        family, uids = {int(pid)}, {}
        for _ in range(5):
            for p, parent, uid in rows:
                if p in family or parent in family:
                    family.add(p)
                    uids[p] = uid
        assert uids and all(uid != 0 for uid in uids.values()), f"{container['Name']}: uids {uids}"
        seen.append(f"{container['Service']}={sorted(set(uids.values()))}")
    ok("no process runs as root: " + ", ".join(sorted(seen)))


def bounded_and_apart() -> None:
    """Every container runs under its limits with rotated logs; the database, the broker and
    Redis sit on the internal network only; the release's version is what the API reports."""
    for container in containers():
        inspected = json.loads(run("docker", "inspect", container["ID"]).stdout)[0]
        host = inspected["HostConfig"]
        name = container["Service"]
        assert host["Memory"] > 0 and host["NanoCpus"] > 0 and (host["PidsLimit"] or 0) > 0, f"{name}: {host}"
        assert host["LogConfig"]["Type"] == "json-file", f"{name}: {host['LogConfig']}"
        assert {"max-size", "max-file"} <= set(host["LogConfig"]["Config"]), f"{name}: {host['LogConfig']}"
        networks = {n.removeprefix(f"{PROJECT}_") for n in inspected["NetworkSettings"]["Networks"]}
        if name in ("postgres", "rabbitmq", "redis"):
            assert networks == {"backend"}, f"{name} on {networks}"
    backend = json.loads(run("docker", "network", "inspect", f"{PROJECT}_backend").stdout)[0]
    assert backend["Internal"], "the backend network must be internal"
    label = run(
        "docker",
        "image",
        "inspect",
        "-f",
        '{{index .Config.Labels "org.opencontainers.image.version"}}',
        f"{IMAGE}:{TAG}",
    ).stdout.strip()
    health = httpx.get(f"{BASE_URL}/healthz", timeout=5, verify=str(CA)).json()
    assert health["version"] == label, (health, label)
    ok(
        "every container has CPU, memory and pids limits and rotated json-file logs; postgres, rabbitmq and "
        f"redis on the internal network only; /healthz reports the image's version {label}"
    )


def through_the_proxy() -> None:
    """The proxy is the only way in: HTTPS with the dev CA's certificate, HTTP redirected to
    PUBLIC_BASE_URL; the api publishes nothing."""
    published = {
        c["Service"]: sorted({p["PublishedPort"] for p in c.get("Publishers") or [] if p.get("PublishedPort")})
        for c in containers()
    }
    public = {service: ports for service, ports in published.items() if ports}
    want = {
        "proxy": sorted([int(HTTPS_PORT), int(HTTP_PORT)]),
        "mailpit": [int(os.environ.get("CI_STACK_MAIL_PORT", "18151"))],
    }
    assert public == want, f"published ports: {public}, want {want}"
    checked = run("curl", "-sS", "--cacert", str(CA), "-o", "/dev/null", "-w", "%{http_code}", f"{BASE_URL}/readyz")
    assert checked.stdout == "200", checked.stdout
    untrusted = run("curl", "-sS", "-o", "/dev/null", f"{BASE_URL}/readyz", check=False)
    assert untrusted.returncode == 60, f"curl without the CA: exit {untrusted.returncode} {untrusted.stderr}"
    path = "/v1/networks?scope=global"
    moved = run(
        "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", f"http://127.0.0.1:{HTTP_PORT}{path}"
    )
    assert moved.stdout == f"308 {BASE_URL}{path}", moved.stdout
    ok(
        f"only the proxy publishes ports ({HTTPS_PORT}, {HTTP_PORT}; the api none): curl --cacert ca.crt {BASE_URL}/readyz"
        " 200, refused without the CA, HTTP answered 308 to the same path at PUBLIC_BASE_URL"
    )


def requests_per_replica(route: str) -> dict[str, float]:
    counts = {}
    for replica in containers("api"):
        samples = scrape(f"{replica['Name']}:9100")
        counts[replica["Name"]] = sum(
            v
            for series, v in samples.items()
            if series.startswith("registry_http_requests_total{") and f'route="{route}"' in series
        )
    return counts


def scaled_to_three(client: httpx.Client) -> None:
    """`up --scale api=3`: the proxy finds the new replicas by Compose's DNS and balances over
    them; a replica whose /readyz stops answering is taken out, the others answer every request."""
    started = time.monotonic()
    compose("up", "--detach", "--wait", "--wait-timeout", "180", "--no-build", "--scale", "api=3")
    replicas = sorted(c["Name"] for c in containers("api"))
    assert len(replicas) == 3, replicas

    def all_three_answer() -> dict[str, float] | None:
        before = requests_per_replica("/v1/entities")
        statuses = Counter(client.get("/v1/entities", params={"limit": 1}).status_code for _ in range(30))
        assert statuses == {200: 30}, statuses
        after = requests_per_replica("/v1/entities")
        served = {name: after[name] - before.get(name, 0) for name in after}
        return served if len(served) == 3 and all(n > 0 for n in served.values()) else None

    served = wait_until("requests answered by all three api replicas", all_three_answer, 90)
    ok(
        f"--scale api=3 in {time.monotonic() - started:.0f}s: 30 requests through the proxy answered by each replica"
        f" ({sorted(int(n) for n in served.values())})"
    )
    paused = replicas[-1]

    def verdicts() -> int:  # the proxy's "Server api/apiN is DOWN" lines so far
        return compose("logs", "--no-color", "proxy").stdout.count(" is DOWN")

    down_before = verdicts()
    run("docker", "pause", paused)
    try:
        wait_until(f"the proxy taking {paused} out", lambda: verdicts() > down_before, 30)
        statuses = Counter(client.get("/v1/entities", params={"limit": 1}).status_code for _ in range(30))
        assert statuses == {200: 30}, statuses
    finally:
        run("docker", "unpause", paused)
    ok(f"{paused} paused: its /readyz check failed, the proxy took it out, 30/30 requests answered by the other two")


def backups_and_restore_drill() -> None:
    """The backup service dumps on its schedule and keeps BACKUP_KEEP; the drill restores the
    newest into a scratch database and finds every table's row count as in the dump."""

    def dumps() -> list[str]:
        names = compose("exec", "-T", "backup", "ls", "/backups").stdout.split()
        return sorted(n for n in names if n.startswith("registry-") and n.endswith(".dump"))

    wait_until("the scheduled backup", dumps, 90)
    for _ in range(2):
        time.sleep(1.1)  # one dump a second at most: the name has the second
        compose("exec", "-T", "backup", "registry-backup", "now")
    kept = dumps()
    assert len(kept) == 2, f"BACKUP_KEEP=2, but {kept}"
    drill = compose("exec", "-T", "backup", "registry-backup", "drill").stdout
    assert "restore drill passed" in drill, drill
    ok(f"backups: on schedule, the newest 2 kept ({', '.join(kept)}); {drill.strip().splitlines()[-1]}")


def forwarded_for_from_the_proxy_only() -> None:
    """A client's own X-Forwarded-For is dropped at the proxy: the API counts failed logins
    against the address the proxy saw, never the one the client claims, nor the proxy's.
    (Last: that address is then refused for a while.)"""
    spoofed = "203.0.113.7"
    statuses = Counter(
        httpx.get(
            f"{BASE_URL}/v1/networks",
            # A new key prefix each time: the address's limit (20) is the one reached, not a prefix's (10).
            headers={"Authorization": f"Bearer mnr_{i:08x}_" + "x" * 43, "X-Forwarded-For": spoofed},
            verify=str(CA),
            timeout=10,
        ).status_code
        for i in range(25)
    )
    assert statuses.get(429), f"no 429 after 25 failed authentications: {statuses}"
    logs = compose("logs", "--no-color", "api").stdout
    refused = re.findall(r"client ([0-9a-f.:]+): more than \d+ failed authentications", logs)
    proxy = ENV.get("PROXY_ADDRESS", "172.30.83.10")
    assert refused and spoofed not in refused and proxy not in refused, refused
    ok(
        f"X-Forwarded-For {spoofed} sent by a client was dropped: the API limited the address the proxy saw"
        f" ({', '.join(sorted(set(refused)))}), neither the claimed one nor the proxy's"
    )


def first_admin_key() -> str:
    out = compose("run", "--rm", "--no-deps", "api", "registry", "create-admin-key").stdout
    match = re.search(r"mnr_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", out)
    assert match, out
    ok("first admin key from `docker compose run --rm --no-deps api registry create-admin-key`")
    return match.group(0)


def secrets_from_files() -> None:
    """The image reads NAME_FILE secrets: DATABASE_URL and BROKER_URL from mounted files only."""
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o755)  # the container's uid 10001 reads the files in it
    urls = {
        "database_url": f"postgresql://registry:{secret_text('postgres_password')}@postgres:5432/registry\n",
        "broker_url": f"amqp://registry:{secret_text('rabbitmq_password')}@rabbitmq:5672/\n",
    }
    try:
        for name, url in urls.items():
            (folder / name).write_text(url)
            (folder / name).chmod(0o644)
        out = compose(
            *("run", "--rm", "--no-deps", "--env", "DATABASE_URL=", "--env", "BROKER_URL="),
            *("--env", "DATABASE_PASSWORD_FILE=", "--env", "BROKER_PASSWORD_FILE="),
            *(
                "--env",
                "DATABASE_URL_FILE=/run/url-secrets/database_url",
                "--env",
                "BROKER_URL_FILE=/run/url-secrets/broker_url",
            ),
            *(
                "--volume",
                f"{folder}:/run/url-secrets:ro",
                "api",
                "registry",
                "create-admin-key",
                "--name",
                "from files",
            ),
        ).stdout
        assert re.search(r"mnr_[0-9a-f]{8}_", out), out
    finally:
        for name in urls:
            (folder / name).unlink(missing_ok=True)
        folder.rmdir()
    ok(
        "secrets from files: with DATABASE_URL and BROKER_URL empty and *_FILE mounted, create-admin-key reached the database"
    )


def start_receiver() -> None:
    run("docker", "rm", "-f", RECEIVER, check=False)
    network = f"{PROJECT}_default"
    run(
        *("docker", "run", "--detach", "--name", RECEIVER, "--network", network, "--network-alias", "webhook-receiver"),
        *("--env", "RECEIVER_DELAY_SECONDS=1", "--volume", f"{ROOT}/docker/ci/webhook_receiver.py:/receiver.py:ro"),
        *(f"{IMAGE}:{TAG}", "python", "/receiver.py"),
    )


def webhook_and_mail(client: httpx.Client) -> tuple[str, str]:
    network = client.get("/v1/networks", params={"scope": "global"}).json()["items"][0]
    response = client.post(
        "/v1/webhook-endpoints", json={"url": "http://webhook-receiver:8080/hooks", "event_types": ["*"]}
    )
    assert response.status_code == 201, response.text
    endpoint = response.json()
    starts = time.strftime("%Y-%m-%dT09:00:00Z", time.gmtime(time.time() + 40 * 86400))
    ends = starts.replace("T09", "T17")
    title = f"CI stack meeting {secrets.token_hex(3)}"
    meeting = client.post(
        "/v1/meetings",
        json={
            "network_id": network["id"],
            "kind": "extended_membership",
            "title": title,
            "starts_at": starts,
            "ends_at": ends,
            "time_zone": "Europe/Zurich",
            "location": "Palais des Nations",
            "invitees": [{"name": "CI Stakeholder Forum", "email": "forum@stakeholders.example"}],
        },
    )
    assert meeting.status_code == 201, meeting.text

    def meeting_hook() -> dict[str, Any] | None:
        for hook in received():
            if json.loads(hook["body"])["type"] == "meeting.created":
                return hook
        return None

    hook = wait_until("the meeting.created webhook at the receiver", meeting_hook, 60)
    payload = verified(hook, endpoint["secret"])
    assert payload["data"]["meeting"]["id"] == meeting.json()["id"], payload
    ok(f"a write through the proxy ({BASE_URL}) reached the receiver container: meeting.created, signature verified")

    def invitation() -> dict[str, Any] | None:
        messages = httpx.get(f"http://127.0.0.1:{MAIL_PORT}/api/v1/messages", timeout=5).json()["messages"]
        return next((m for m in messages if title in m["Subject"]), None)

    message = wait_until("the invitation in the mail catcher", invitation, 90)
    assert [t["Address"] for t in message["To"]] == ["forum@stakeholders.example"], message
    raw = httpx.get(f"http://127.0.0.1:{MAIL_PORT}/api/v1/message/{message['ID']}/raw", timeout=5).content
    parts = {p.get_content_type(): p.get_payload(decode=True) for p in email.message_from_bytes(raw).walk()}
    assert b"METHOD:REQUEST" in parts["text/calendar"], parts.keys()
    text = parts["text/plain"].decode()
    assert "You are invited as CI Stakeholder Forum" in text and f"Network: {network['name']}" in text, text
    assert "text/html" in parts, parts.keys()
    # No link a person cannot open: the API's address answers a browser with 401.
    assert "/v1/" not in text and b"/v1/" not in parts["text/html"], text
    ok(f"the invitation reached the mail catcher: {message['Subject']!r}, saying why and where, and its .ics")
    # Its Accept link: signed by the worker, checked by the API (the same INVITATION_LINK_KEYS),
    # a page a person opens without a key; the GET records nothing.
    accept = re.search(r"^  Accept: (\S+)$", text.replace("\r\n", "\n"), re.MULTILINE)
    assert accept and accept.group(1).startswith(ENV["PUBLIC_BASE_URL"] + "/invitations/"), text
    page = httpx.get(accept.group(1), timeout=10, verify=str(CA))
    assert page.status_code == 200 and "<button" in page.text, page.text[:300]
    ok("the invitation's Accept link starts with PUBLIC_BASE_URL and its page opens without a key")
    # Links the registry hands out use PUBLIC_BASE_URL: a calendar subscription's secret URL,
    # which a calendar app then reads without a key.
    made = client.post(
        "/v1/calendar-subscriptions",
        json={"name": "CI stack feed", "scope": "meeting", "subject_id": meeting.json()["id"]},
    )
    assert made.status_code == 201, made.text
    feed_url = made.json()["url"]
    assert feed_url.startswith(ENV["PUBLIC_BASE_URL"] + "/v1/calendars/"), f"{feed_url}: not PUBLIC_BASE_URL"
    feed = httpx.get(feed_url, timeout=10, verify=str(CA))
    assert feed.status_code == 200 and title in feed.text, feed.text[:300]
    ok("a calendar subscription's URL starts with PUBLIC_BASE_URL, and its feed answers without a key")
    return endpoint["id"], endpoint["secret"]


def scrape(target: str) -> dict[str, float]:
    """``target``'s metrics as Prometheus would scrape them: from another container on the
    Compose network (the api's), since no metrics port is published to the host."""
    fetch = (
        f"import urllib.request; print(urllib.request.urlopen('http://{target}/metrics', timeout=5).read().decode())"
    )
    # Any running api replica (after a rolling upgrade, Compose's first one is gone).
    replica = next(c["Name"] for c in containers("api") if c["State"] == "running")
    text = run("docker", "exec", replica, "python", "-c", fetch).stdout
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            samples[series] = samples.get(series, 0.0) + float(value)
    return samples


def total(samples: dict[str, float], name: str) -> float:
    return sum(v for series, v in samples.items() if series == name or series.startswith(name + "{"))


def metrics_on_the_internal_network() -> None:
    """Each process's metrics, scraped across the stack's network, name what docs/OPERATIONS.md says,
    and count the traffic that happened (a write, its webhook and its e-mail)."""
    published = " ".join(str(c.get("Publishers")) for c in containers())
    assert not any(f"'PublishedPort': {port}" in published for port in (9100, 9101, 9102)), published
    wanted = {
        "api:9100": {
            "registry_http_requests_total": True,
            "registry_http_request_duration_seconds_count": True,
            "registry_db_pool_connections_in_use": False,
            "registry_db_pool_overflow": False,
        },
        "scheduler:9102": {
            "registry_scheduler_sweep_last_run_timestamp_seconds": True,
            "registry_scheduler_sweep_duration_seconds_count": True,
            "registry_outbox_pending_events": False,
            "registry_outbox_oldest_pending_age_seconds": False,
            "registry_deliveries_due": False,
            "registry_webhook_endpoints_disabled": False,
            "registry_webhook_endpoints_failing": False,
            "registry_queue_messages": False,
            "registry_review_cycles_overdue": False,
            "registry_recommendations_overdue": False,
        },
    }
    workers = [c["Name"] for c in containers("worker")]
    assert len(workers) == 2, workers
    for target, names in wanted.items():
        samples = scrape(target)
        for name, counted in names.items():
            assert any(s == name or s.startswith(name + "{") for s in samples), f"{target}: no {name}"
            assert not counted or total(samples, name) > 0, f"{target}: {name} is 0 after traffic"
    union: dict[str, float] = {}
    for worker in workers:  # each replica answers; what it counts depends on the messages it took
        for series, value in scrape(f"{worker}:9101").items():
            union[series] = union.get(series, 0.0) + value
    for name in ("registry_worker_messages_total", "registry_webhook_deliveries_total"):
        assert total(union, name) > 0, f"the workers: {name} is 0 after traffic"
    delivered = total(union, "registry_webhook_deliveries_total") + total(union, "registry_email_deliveries_total")
    assert delivered > 0, "no worker counted a webhook or an e-mail delivery"
    ok(
        f"metrics scraped across the Compose network (ports 9100-9102 not published): api, scheduler and both "
        f"workers ({', '.join(workers)}), every named metric present, {delivered:.0f} deliveries counted"
    )


# What became of the deliveries that did not succeed (printed when they do not all succeed).
DELIVERY_STATES = """SELECT d.status, d.attempts, d.last_error, d.next_attempt_at - now() AS due_in,
 d.lease_until - now() AS lease_in, d.queued_until - now() AS queued_in, d.queued_count
 FROM webhook_deliveries d WHERE d.status <> 'succeeded' ORDER BY d.created_at"""
RELAY_STATE = (
    "SELECT (SELECT count(*) FROM events WHERE published_at IS NULL) AS unpublished,"
    " (SELECT queued_until - now() FROM relay_queue WHERE id = 1) AS relay_mark_in"
)


def restarts_and_kills_lose_nothing(client: httpx.Client, endpoint_id: str, secret: str) -> None:
    created: list[str] = []

    def mid_send() -> int:
        # A worker holds a delivery's lease exactly while it sends it.
        leased = "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' AND lease_until > now()"
        return int(psql(leased))

    for i in range(ENTITIES):
        # The receiver takes RECEIVER_DELAY_SECONDS per request: a burst leaves deliveries mid-send.
        if i in (ENTITIES // 3, 2 * ENTITIES // 3):
            # The restarted workers boot first (10-30 s on a busy machine).
            sending = wait_until("a delivery mid-send", mid_send, 90)
            if i == ENTITIES // 3:
                compose("restart", "worker")
                say(f"docker compose restart worker, {sending} deliveries mid-send")
            else:
                compose("kill", "-s", "SIGKILL", "worker")
                say(f"docker compose kill -s SIGKILL worker, {sending} deliveries mid-send")
                compose("up", "--detach", "--no-deps", "--no-build", "worker")
                say("docker compose up --detach --no-deps worker: both replicas back")
        response = client.post(
            "/v1/entities", json={"acronym": f"CI{i:03d}", "name": f"CI stack entity {i}", "kind": "un_system"}
        )
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])

    def all_delivered() -> list[dict[str, Any]] | None:
        rows = [d for d in deliveries(client, endpoint_id) if d["event_type"] == "entity.created"]
        if len(rows) == ENTITIES and all(d["status"] == "succeeded" for d in rows):
            return rows
        return None

    # A delivery killed mid-send waits for its lease (WEBHOOK_LEASE_SECONDS) to lapse.
    try:
        rows = wait_until(f"{ENTITIES} entity.created deliveries succeeded", all_delivered, 300)
    except AssertionError:
        print(DELIVERY_STATES, psql(DELIVERY_STATES.replace("\n", " ")), sep="\n", file=sys.stderr)
        print(RELAY_STATE, psql(RELAY_STATE), sep="\n", file=sys.stderr)
        print(compose("logs", "--tail", "300", "worker", "scheduler").stdout, file=sys.stderr)
        raise
    hooks = [h for h in received() if json.loads(h["body"])["type"] == "entity.created"]
    ids = Counter(h["headers"]["webhook-id"] for h in hooks)
    assert set(ids) == {d["webhook_id"] for d in rows}, "every delivery arrived, under its own webhook-id"
    payload_ids = {verified(h, secret)["data"]["entity"]["id"] for h in hooks}
    assert payload_ids == set(created), "every entity created is announced once"
    repeats = sum(n - 1 for n in ids.values())
    ok(
        f"restart and SIGKILL of the workers during deliveries lost nothing: {ENTITIES}/{ENTITIES} delivered,"
        f" signatures verified, {repeats} repeat(s), each under its first webhook-id"
    )

    # Each worker's address on the network the receiver shares with it (it is on the
    # internal backend network as well).
    network = f"{PROJECT}_default"
    workers = {
        run(
            "docker", "inspect", "-f", f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}', c["ID"]
        ).stdout.strip()
        for c in containers("worker")
    }
    senders = Counter(h["peer"] for h in hooks)
    sharing = {ip: n for ip, n in senders.items() if ip in workers}
    assert len(workers) == 2 and len(sharing) == 2, f"workers {workers}, senders {senders}"
    ok(f"two worker replicas shared the deliveries: {sorted(sharing.values())} after the restarts")


COUNTS = (
    "SELECT string_agg(format('%s=%s', c.relname, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n"
    " FROM %I', c.relname), false, true, '')))[1]), ',' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n"
    " ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
)
DOWN_ONE = "from alembic import command; from migrations.config import alembic_config; command.downgrade(alembic_config(), '-1')"


def report_as_pdf(client: httpx.Client) -> None:
    """The image lays the activity report out as a PDF (WeasyPrint needs Pango in it)."""
    network = client.get("/v1/networks", params={"scope": "global"}).json()["items"][0]
    period = {"from": time.strftime("%Y-01-01"), "to": time.strftime("%Y-12-31")}
    started = time.monotonic()
    response = client.get(
        f"/v1/networks/{network['id']}/reports/activity", params=period, headers={"Accept": "application/pdf"}
    )
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"%PDF-"), response.content[:40]
    ok(f"activity report as PDF: {len(response.content):,} bytes in {time.monotonic() - started:.1f}s")


def backup() -> Path:
    """docker/RUNBOOK.md, Backup: pg_dump -Fc of the live database."""
    dump = Path(tempfile.mkdtemp()) / "registry.dump"
    with dump.open("wb") as out:
        subprocess.run(  # noqa: S603
            [*COMPOSE, "exec", "-T", "postgres", "pg_dump", "-U", "registry", "-Fc", "registry"],
            env=ENV,
            stdout=out,
            check=True,
        )
    return dump


def consistent_backup() -> tuple[str, Path]:
    """A backup and the row counts it holds (counted before and after it, until they agree)."""
    for _ in range(5):
        counts, dump = psql(COUNTS), backup()
        if psql(COUNTS) == counts:
            return counts, dump
        dump.unlink()
    raise AssertionError("the database kept changing while it was backed up")


def restore_then_roll_back_and_upgrade(client: httpx.Client, dump: Path, counts: str) -> None:
    """docker/RUNBOOK.md, Restore and Rolling back, as written: writers stopped, the database
    dropped and restored from the dump, down one revision with the image's Alembic, then
    `up --wait`: migrate takes it back to head before the API starts."""
    entity = client.get("/v1/entities", params={"limit": 1}).json()["items"][0]
    before = client.get(f"/v1/entities/{entity['id']}")
    compose("stop", "api", "worker", "scheduler")
    compose("exec", "-T", "postgres", "dropdb", "-U", "registry", "--force", "registry")
    compose("exec", "-T", "postgres", "createdb", "-U", "registry", "registry")
    with dump.open("rb") as data:
        compose(
            "exec",
            "-T",
            "postgres",
            "pg_restore",
            "-U",
            "registry",
            "--no-owner",
            "--exit-on-error",
            "-d",
            "registry",
            stdin=data,
        )
    restored = psql(COUNTS)
    assert restored == counts, f"{counts}\n!=\n{restored}"
    ok(
        f"restore (pg_restore of a {dump.stat().st_size // 1024} kB pg_dump -Fc): row counts of {counts.count('=')} tables match"
    )
    dump.unlink()
    dump.parent.rmdir()
    head = psql("SELECT version_num FROM alembic_version")
    compose("run", "--rm", "--no-deps", "migrate", "python", "-c", DOWN_ONE)
    below = psql("SELECT version_num FROM alembic_version")
    assert below != head, (head, below)
    up()
    assert psql("SELECT version_num FROM alembic_version") == head
    after = once_in_rotation(client, f"/v1/entities/{entity['id']}")
    assert after.status_code == 200 and after.headers["etag"] == before.headers["etag"], (before, after)
    ok(
        f"rollback: down one revision ({head} -> {below}) with the image's Alembic, then up: migrate back at {head}, same ETag"
    )


def once_in_rotation(client: httpx.Client, path: str) -> httpx.Response:
    """``path`` through the proxy after an `up`: `--wait` returns once the api container is
    healthy, and the proxy puts it in rotation two checks (up to 4 s) later, answering 503 meanwhile."""

    def answered() -> httpx.Response | None:
        response = client.get(path)
        return response if response.status_code != 503 else None

    response: httpx.Response = wait_until(f"GET {path} through the proxy after up", answered, 60)
    return response


def image_version(tag: str) -> str:
    return run(
        "docker",
        "image",
        "inspect",
        "-f",
        '{{index .Config.Labels "org.opencontainers.image.version"}}',
        f"{IMAGE}:{tag}",
    ).stdout.strip()


def on_the_previous_release() -> str:
    """The stack as the previous release left it (docker/PREVIOUS_RELEASE's image): up, the
    first admin key, three api replicas. Returns the key."""
    ENV["TAG"] = PREVIOUS_VERSION
    up()
    migrate_ran_once()
    health = httpx.get(f"{BASE_URL}/healthz", timeout=5, verify=str(CA)).json()
    assert health["version"] == PREVIOUS_VERSION == image_version(PREVIOUS_VERSION), health
    key = first_admin_key()
    started = time.monotonic()
    compose("up", "--detach", "--wait", "--wait-timeout", "180", "--no-build", "--scale", "api=3")
    assert len(containers("api")) == 3
    ok(
        f"the previous release {PREVIOUS_VERSION} ({IMAGE}:{PREVIOUS_VERSION}, built from docker/PREVIOUS_RELEASE's"
        f" commit) up, /healthz reports {PREVIOUS_VERSION}; --scale api=3 in {time.monotonic() - started:.0f}s"
    )
    return key


def rolling_upgrade(key: str) -> None:
    """docker/rolling-upgrade.sh from the previous release to this build, under load."""
    with api(key) as client:
        rolling.under_load(key, client, TAG, image_version(TAG), "UP", "rolling upgrade")
    ENV["TAG"] = TAG
    assert {c["Image"] for c in containers() if c["Service"] in ("api", "worker", "scheduler", "migrate")} == {
        f"{IMAGE}:{TAG}"
    }, containers()


def rolling_rollback(key: str, client: httpx.Client) -> None:
    """docker/RUNBOOK.md, Rolling back: docker/rolling-upgrade.sh to the previous release's
    image, under load (the schema first down to the previous release's head with this image's
    Alembic when this release added revisions); the records are still there, unchanged."""
    entity = client.get("/v1/entities", params={"limit": 1}).json()["items"][0]
    before = client.get(f"/v1/entities/{entity['id']}")
    head = psql("SELECT version_num FROM alembic_version")
    rolling.under_load(key, client, PREVIOUS_VERSION, PREVIOUS_VERSION, "DN", "rollback")
    ENV["TAG"] = PREVIOUS_VERSION
    after = client.get(f"/v1/entities/{entity['id']}")
    assert after.status_code == 200 and after.headers["etag"] == before.headers["etag"], (before, after)
    below = psql("SELECT version_num FROM alembic_version")
    ok(
        f"rolled back to {PREVIOUS_VERSION}: schema {head} -> {below} (the previous release's head), a record"
        " written before it unchanged (same ETag)"
    )


def data_survives_down_and_up(client: httpx.Client) -> None:
    entity = client.get("/v1/entities", params={"limit": 1}).json()["items"][0]
    before = client.get(f"/v1/entities/{entity['id']}")
    run("docker", "rm", "-f", RECEIVER)
    compose("down")
    say("docker compose down (volumes kept)")
    up()
    after = once_in_rotation(client, f"/v1/entities/{entity['id']}")
    assert after.status_code == 200 and after.headers["etag"] == before.headers["etag"], (before, after)
    ok("docker compose down, then up: the records (same ETag) and the admin key are still there")


def main() -> None:
    compose("down", "--volumes", "--remove-orphans", check=False)
    run("docker", "rm", "-f", RECEIVER, check=False)
    try:
        make_secrets()
        key = on_the_previous_release()
        rolling_upgrade(key)
        migrate_ran_once(after="the rolling upgrade and run --rm --no-deps api registry create-admin-key")
        nobody_is_root()
        bounded_and_apart()
        through_the_proxy()
        secrets_from_files()
        start_receiver()
        with api(key) as client:
            endpoint_id, secret = webhook_and_mail(client)
            report_as_pdf(client)
            metrics_on_the_internal_network()
            restarts_and_kills_lose_nothing(client, endpoint_id, secret)
            scaled_to_three(client)
            backups_and_restore_drill()
            counts, dump = consistent_backup()
            data_survives_down_and_up(client)
            restore_then_roll_back_and_upgrade(client, dump, counts)
            rolling_rollback(key, client)
        forwarded_for_from_the_proxy_only()
        nobody_is_root()
    except BaseException:
        print(compose("ps", "--all", check=False).stdout, file=sys.stderr)
        for service in ("worker", "scheduler", "api", "migrate"):  # the API's access lines would drown the rest
            print(compose("logs", "--no-color", "--tail", "60", service, check=False).stdout[-15000:], file=sys.stderr)
        raise
    finally:
        if os.environ.get("CI_STACK_KEEP") != "1":
            run("docker", "rm", "-f", RECEIVER, check=False)
            compose("down", "--volumes", "--remove-orphans", check=False)
            shutil.rmtree(SECRETS, ignore_errors=True)
    print("\nstack check passed in %.0fs:" % (time.monotonic() - STARTED))
    for line in RESULTS:
        print("  ok  " + line)


if __name__ == "__main__":
    main()
