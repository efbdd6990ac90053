"""The operator's commands of ``registry``: ``status``, ``trace`` and ``deliveries``. Each
prints for a person by default and JSON with ``--json``."""

import argparse
import asyncio
import logging
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import make_url, select, text

from services import context
from services.database import shown_url
from services.principals import Principal, Role
from services.settings import Settings, get_settings
from services.unit_of_work import unit_of_work
from worker.actors import declared_actors
from worker.broker import build_broker
from worker.main import start_broker  # and with it every actor module, so every queue
from worker.observability import queue_depths

# Who the audit log names for a replay made from the command line.
OPERATOR = Principal(id="system:registry-cli", role=Role.SYSTEM)
STATUS_TIMEOUT_SECONDS = 5.0


def _dump(value: Any) -> None:
    print(orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2).decode())


def _safe_url(url: str | None) -> str:
    """A database or broker URL with its password hidden (a database's hosts all listed)."""
    if not url:
        return "-"
    return (
        shown_url(url)
        if url.startswith(("postgresql", "postgres:"))
        else make_url(url).render_as_string(hide_password=True)
    )


def _reason(error: BaseException) -> str:
    """An error's kind and first line (a connection error's, which carries no secret)."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.1f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


# ---- status ---------------------------------------------------------------------------------


def _migration_head() -> str | None:
    from alembic.script import ScriptDirectory

    from migrations.config import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _broker_state(settings: Settings) -> dict[str, Any]:
    if not settings.broker_url:
        return {"status": "in-memory", "url": None, "queues": {}}
    queues = {actor.queue_name for actor in declared_actors()}
    try:
        depths = queue_depths(build_broker(settings), queues=queues)
        return {"status": "up", "url": _safe_url(settings.broker_url), "queues": depths}
    except Exception as error:
        return {"status": "down", "url": _safe_url(settings.broker_url), "error": _reason(error)}


async def gather_status(settings: Settings) -> dict[str, Any]:
    """Every check of ``registry status``; ``ok`` is false when something is down."""
    from services.database import create_database
    from services.scheduling.status import operator_status

    # The report says what is down; the libraries' own alarms about it would only repeat it.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    report: dict[str, Any] = {"checked_at": datetime.now(UTC).isoformat(timespec="seconds")}
    database = create_database(settings)
    try:
        async with asyncio.timeout(STATUS_TIMEOUT_SECONDS), database.read() as conn:
            await conn.execute(text("SELECT 1"))
            report["database"] = {"status": "up", "url": _safe_url(settings.database_url)}
            try:
                report.update(await operator_status(conn))
            except Exception as error:  # answering, but not migrated
                report["migration"] = None
                report["database"]["error"] = f"{type(error).__name__}: not migrated?"
    except Exception as error:
        report["database"] = {"status": "down", "url": _safe_url(settings.database_url), "error": _reason(error)}
    finally:
        await database.dispose()
    head = _migration_head()
    current = report.pop("migration", None)
    report["migrations"] = {
        "status": "unknown" if report["database"]["status"] != "up" else ("at head" if current == head else "behind"),
        "current": current,
        "head": head,
    }
    report["broker"] = await asyncio.to_thread(_broker_state, settings)
    scheduler = report.get("scheduler")
    stale_after = 2 * (settings.scheduler_interval_seconds + settings.scheduler_sweep_timeout_seconds)
    report["scheduler_status"] = (
        "unknown"
        if report["database"]["status"] != "up"
        else "down"
        if scheduler is None or scheduler["seconds_since_last_sweep"] > stale_after
        else "up"
    )
    report["ok"] = (
        report["database"]["status"] == "up"
        and report["migrations"]["status"] == "at head"
        and report["broker"]["status"] in ("up", "in-memory")
        and report["scheduler_status"] == "up"
    )
    return report


def _print_status(report: dict[str, Any]) -> None:
    database, migrations, broker = report["database"], report["migrations"], report["broker"]
    lines = [
        f"Migration Network Registry — {'OK' if report['ok'] else 'NOT OK'} ({report['checked_at']})",
        f"  database     {database['status']:<9} {database['url']}"
        + (f"  ({database['error']})" if "error" in database else ""),
        f"  migrations   {migrations['status']:<9} at {migrations['current'] or '-'}, head {migrations['head']}",
        f"  broker       {broker['status']:<9} {broker['url'] or 'the in-memory broker of registry run'}"
        + (f"  ({broker['error']})" if "error" in broker else ""),
    ]
    for queue, depth in broker.get("queues", {}).items():
        lines.append(f"               queue {queue}: {depth} messages waiting")
    scheduler = report.get("scheduler")
    lines.append(
        f"  scheduler    {report['scheduler_status']:<9} "
        + (
            f"last sweep {_ago(scheduler['seconds_since_last_sweep'])} by {scheduler['scheduler_id']}"
            if scheduler
            else "no sweep recorded"
        )
    )
    if "outbox" in report:
        outbox = report["outbox"]
        lines.append(
            f"  outbox       {outbox['pending_events']} events waiting for the relay"
            + (f", the oldest for {outbox['oldest_pending_seconds']} s" if outbox["pending_events"] else "")
        )
        for kind, backlog in report["deliveries"].items():
            lines.append(
                f"  {kind + 's':<12} {backlog['pending']} pending, {backlog['held']} held by a worker, "
                f"{backlog['waiting_for_retry']} waiting for a retry, {backlog['failed']} failed"
                + (f"; the oldest due waiting {backlog['oldest_due_seconds']} s" if backlog["due"] else "")
            )
        failing = report["failing_endpoints"]
        lines.append(f"  failing webhook endpoints: {len(failing) or 'none'}")
        for endpoint in failing:
            state = "disabled" if not endpoint["enabled"] else f"failing since {endpoint['failing_since']}"
            reason = f" ({endpoint['disabled_reason']})" if endpoint["disabled_reason"] else ""
            lines.append(f"    {endpoint['id']}  {endpoint['url']}  {state}{reason}")
        lines.append("  sweeps (last run, duration, outcome):" if report["sweeps"] else "  sweeps: none recorded")
        for sweep in report["sweeps"]:
            lines.append(
                f"    {sweep['name']:<28} {_ago(sweep['seconds_since']):<14} "
                f"{sweep['duration_seconds'] * 1000:8.1f} ms  {'FAILED' if sweep['failed'] else 'ok'}"
            )
    print("\n".join(lines))


def command_status(args: argparse.Namespace) -> None:
    """Whether the database and the broker answer and migrations are at head; the outbox,
    failing endpoints and each sweep's last run. Exits 1 when something is down."""
    report = asyncio.run(gather_status(get_settings()))
    _dump(report) if args.json else _print_status(report)
    sys.exit(0 if report["ok"] else 1)


# ---- trace ----------------------------------------------------------------------------------


async def _with_database(work: Any) -> Any:
    from services.database import dispose_database, get_database

    try:
        return await work(get_database())
    finally:
        await dispose_database()


def _print_trace(trace: dict[str, Any]) -> None:
    lines = [f"Request {trace['request_id']}"]
    lines.append("  the change (audit log):" if trace["audit"] else "  the change (audit log): nothing recorded")
    for entry in trace["audit"]:
        lines.append(
            f"    {entry['occurred_at']:%Y-%m-%d %H:%M:%S}  {entry['principal_id']}  {entry['action']}  "
            f"{entry['resource_type']} {entry['resource_id']}"
        )
    lines.append("  events:" if trace["events"] else "  events: none")
    for event in trace["events"]:
        relayed = f"relayed {event['published_at']:%H:%M:%S}" if event["published_at"] else "not yet relayed"
        lines.append(
            f"    #{event['position']} {event['type']}  {event['subject_type']} {event['subject_id']}  {relayed}"
        )
    lines.append("  webhook deliveries:" if trace["webhook_deliveries"] else "  webhook deliveries: none")
    for delivery in trace["webhook_deliveries"]:
        lines.append(
            f"    {delivery['webhook_id']}  {delivery['event_type']} → {delivery['endpoint_url']}  "
            f"{delivery['status']} after {delivery['attempts']} attempt(s)"
            + (f", last: HTTP {delivery['last_status_code']}" if delivery["last_status_code"] else "")
            + (f", {delivery['last_error']}" if delivery["last_error"] else "")
        )
        for attempt in delivery["attempt_log"]:
            lines.append(
                f"      {attempt['attempted_at']}  {attempt['status_code'] or '-'}  {attempt['latency_ms']} ms"
                + (f"  {attempt['error']}" if attempt["error"] else "")
            )
    lines.append("  e-mails:" if trace["email_deliveries"] else "  e-mails: none")
    for mail in trace["email_deliveries"]:
        lines.append(
            f"    {mail['id']}  {mail['kind']} ({mail['event_type']}) → {mail['recipient']}  "
            f"{mail['status']} after {mail['attempts']} attempt(s)"
            + (f", {mail['last_error']}" if mail["last_error"] else "")
        )
    print("\n".join(lines))


def command_trace(args: argparse.Namespace) -> None:
    """Follow one X-Request-ID: the change (audit log), its events, and every webhook
    delivery and e-mail they caused, with outcomes."""
    from services.observability.trace import trace_request

    async def trace(database: Any) -> dict[str, Any]:
        async with database.read() as conn:
            return await trace_request(conn, args.request_id)

    found = asyncio.run(_with_database(trace))
    _dump(found) if args.json else _print_trace(found)
    if not (found["audit"] or found["events"]):
        sys.exit(1)


# ---- deliveries -----------------------------------------------------------------------------


def _print_failed(failed: dict[str, list[dict[str, Any]]]) -> None:
    webhooks, emails = failed.get("webhook", []), failed.get("email", [])
    if "webhook" in failed:
        print(f"Failed webhook deliveries: {len(webhooks) or 'none'}")
        for d in webhooks:
            print(
                f"  {d['id']}  {d['event_type']} → {d['endpoint_url']} (endpoint {d['endpoint_id']})  "
                f"{d['attempts']} attempts, last: {d['last_error'] or d['last_status_code']}  request {d['request_id'] or '-'}"
            )
    if "email" in failed:
        print(f"Failed e-mail deliveries: {len(emails) or 'none'}")
        for m in emails:
            print(
                f"  {m['id']}  {m['kind']} ({m['event_type']}) → {m['recipient']}  {m['attempts']} attempts, "
                f"last: {m['last_error']}  request {m['request_id'] or '-'}"
            )


def command_deliveries(args: argparse.Namespace) -> None:
    """List failed webhook and e-mail deliveries, replay them (by id, every failed one of an
    endpoint, or every failed e-mail), or retry now those that wait for a retry."""
    if args.action == "list":
        failed = asyncio.run(_with_database(lambda database: _list_failed(database, args)))
        _dump(failed) if args.json else _print_failed(failed)
        return
    if args.action == "retry-now":
        command_retry_now(args)
        return
    if not (args.id or args.endpoint or args.emails):
        sys.exit("registry deliveries replay: give --id (repeatable), --endpoint or --emails")
    request_id = f"cli-{uuid.uuid4().hex}"
    context.request_id.set(request_id)  # the replay's audit entry and event carry it: `registry trace` finds them
    replayed = asyncio.run(_with_database(lambda database: _replay(database, args)))
    if args.json:
        _dump({**replayed, "request_id": request_id})
        return
    print(
        f"Made due again: {len(replayed['webhook'])} webhook and {len(replayed['email'])} e-mail deliveries "
        f"(the scheduler hands them to the workers within SCHEDULER_INTERVAL_SECONDS). Request id: {request_id}"
    )


async def _list_failed(database: Any, args: argparse.Namespace) -> dict[str, list[dict[str, Any]]]:
    from services.delivery.replay import email_rows_where
    from services.delivery_status import DeliveryStatus
    from services.mail.models import EmailDelivery
    from services.webhooks.models import WebhookDelivery
    from services.webhooks.repository import delivery_rows_where

    failed: dict[str, list[dict[str, Any]]] = {}
    async with database.read() as conn:
        if args.kind in ("webhook", "all"):
            conditions = [WebhookDelivery.status == DeliveryStatus.FAILED]
            if args.endpoint:
                conditions.append(WebhookDelivery.endpoint_id == args.endpoint)
            failed["webhook"] = await delivery_rows_where(conn, *conditions, limit=args.limit)
        if args.kind in ("email", "all") and not args.endpoint:
            failed["email"] = await email_rows_where(
                conn, EmailDelivery.status == DeliveryStatus.FAILED, limit=args.limit
            )
    return failed


async def _replay(database: Any, args: argparse.Namespace) -> dict[str, list[uuid.UUID]]:
    """Through the same service as the API's replay (``services.delivery.replay``): the same
    rules (a disabled endpoint is refused), the same audit entry and event."""
    from services.delivery.replay import replay_emails, replay_webhooks
    from services.errors import DomainError
    from services.webhooks.models import WebhookDelivery

    start_broker()  # the replay's events: the relay is nudged once it commits
    replayed: dict[str, list[uuid.UUID]] = {"webhook": [], "email": []}
    try:
        async with unit_of_work() as session:
            for delivery_id in args.id or []:
                endpoint_id = await session.scalar(
                    select(WebhookDelivery.endpoint_id).where(WebhookDelivery.id == delivery_id)
                )
                if endpoint_id is not None:
                    replayed["webhook"] += await replay_webhooks(
                        session, endpoint_id=endpoint_id, delivery_id=delivery_id, actor=OPERATOR
                    )
                    continue
                emails = await replay_emails(session, delivery_ids=[delivery_id])
                if not emails:
                    raise SystemExit(f"no failed delivery has id {delivery_id}")
                replayed["email"] += emails
            if args.endpoint:
                replayed["webhook"] += await replay_webhooks(
                    session, endpoint_id=args.endpoint, failed_since=datetime(1900, 1, 1, tzinfo=UTC), actor=OPERATOR
                )
            if args.emails:
                replayed["email"] += await replay_emails(session)
    except DomainError as refused:
        raise SystemExit(f"refused: {refused.detail}") from None
    return replayed


def command_retry_now(args: argparse.Namespace) -> None:
    """Make the deliveries that wait for a retry due now, in order: a webhook endpoint's
    (``--endpoint``), or every e-mail's (``--emails``), once the receiver or the mail server
    is back. The scheduler hands them to the workers at its next sweep."""
    if not args.endpoint and not args.emails:
        sys.exit("registry deliveries retry-now: give --endpoint or --emails")
    made_due = asyncio.run(_with_database(lambda database: _retry_now(args)))
    if args.json:
        _dump(made_due)
        return
    print(
        f"Due now: {len(made_due['webhook'])} webhook and {len(made_due['email'])} e-mail deliveries "
        "(the scheduler hands them to the workers within SCHEDULER_INTERVAL_SECONDS)"
    )


async def _retry_now(args: argparse.Namespace) -> dict[str, list[uuid.UUID]]:
    from services.delivery.replay import retry_emails_now, retry_webhooks_now
    from services.errors import DomainError

    made_due: dict[str, list[uuid.UUID]] = {"webhook": [], "email": []}
    try:
        async with unit_of_work() as session:
            if args.endpoint:
                made_due["webhook"] = await retry_webhooks_now(session, endpoint_id=args.endpoint, actor=OPERATOR)
            if args.emails:
                made_due["email"] = await retry_emails_now(session)
    except DomainError as refused:
        raise SystemExit(f"refused: {refused.detail}") from None
    return made_due


def add_operations_commands(commands: Any) -> None:
    """``status``, ``trace`` and ``deliveries`` on the ``registry`` parser."""
    status = commands.add_parser("status", help=(command_status.__doc__ or "").strip().splitlines()[0])
    status.add_argument("--json", action="store_true", help="print JSON (for machines)")
    status.set_defaults(handler=command_status)

    trace = commands.add_parser("trace", help=(command_trace.__doc__ or "").strip().splitlines()[0])
    trace.add_argument("request_id", help="the X-Request-ID the API answered with (or that the client sent)")
    trace.add_argument("--json", action="store_true", help="print JSON (for machines)")
    trace.set_defaults(handler=command_trace)

    deliveries = commands.add_parser("deliveries", help=(command_deliveries.__doc__ or "").strip().splitlines()[0])
    actions = deliveries.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="list failed deliveries, oldest first")
    listing.add_argument("--kind", choices=("webhook", "email", "all"), default="all")
    listing.add_argument("--endpoint", type=uuid.UUID, help="only this webhook endpoint's")
    listing.add_argument("--limit", type=int, default=100, help="at most this many of each kind (default 100)")
    listing.add_argument("--json", action="store_true", help="print JSON (for machines)")
    replay = actions.add_parser("replay", help="send failed deliveries again (webhooks under the same webhook-id)")
    replay.add_argument("--id", type=uuid.UUID, action="append", help="a webhook or e-mail delivery's id (repeatable)")
    replay.add_argument("--endpoint", type=uuid.UUID, help="every failed delivery of this webhook endpoint")
    replay.add_argument("--emails", action="store_true", help="every failed e-mail delivery")
    replay.add_argument("--json", action="store_true", help="print JSON (for machines)")
    retry_now = actions.add_parser("retry-now", help="make the deliveries that wait for a retry due now, in order")
    retry_now.add_argument("--endpoint", type=uuid.UUID, help="this webhook endpoint's (it answers again)")
    retry_now.add_argument("--emails", action="store_true", help="every e-mail's (the mail server is back)")
    retry_now.add_argument("--json", action="store_true", help="print JSON (for machines)")
    deliveries.set_defaults(handler=command_deliveries)
