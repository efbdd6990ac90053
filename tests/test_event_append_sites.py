"""Where events are written, read from the source: only services/events/service.py writes to
the event log (``events``) and the audit log, through ``append_events`` (every change) and
``run_insert_recording_event`` (the hottest creations: the row, its event and its audit entry
in one statement, docs/decisions/0023-performance-against-by-hand-baselines.md). Both check
the type against the catalogue and flag the unit of work so that the relay is nudged."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENT_LOG = "services/events/service.py"
WRITES = re.compile(
    r"INSERT\s+INTO\s+(events|audit_log)\b"
    r"|\binsert\(\s*(Event|AuditEntry)\b"
    r"|\.add(_all)?\(\s*(Event|AuditEntry)\("
    r"|\btable\(\s*[\"'](events|audit_log)[\"']",
    re.IGNORECASE,
)


def _writes(text: str) -> list[str]:
    return [m.group(0) for m in WRITES.finditer(text)]


def test_only_the_event_log_module_writes_events():
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for package in ("services", "api", "worker")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.relative_to(ROOT).as_posix() != EVENT_LOG
        for what in _writes(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "append events through services.events.service.append_events:\n" + "\n".join(found)


def test_the_event_log_module_writes_through_its_two_functions():
    source = (ROOT / EVENT_LOG).read_text(encoding="utf-8")
    functions = {
        node.name: ast.get_source_segment(source, node) or ""
        for node in ast.parse(source).body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    statements = {"_APPEND_EVENT": "append_events", "_EVENTS": "insert_recording_event"}
    for statement, writer in statements.items():
        users = sorted(name for name, body in functions.items() if re.search(rf"\b{statement}\b", body))
        assert users == [writer], (statement, users)
    for checker in ("append_events", "run_insert_recording_event"):
        assert "require_known(" in functions[checker] and "PENDING_EVENTS_FLAG" in functions[checker], checker


def test_the_scan_finds_event_writes():
    for write in (
        'text("INSERT INTO events (id) VALUES (:id)")',
        "insert(Event).values(type='x')",
        "session.add(Event(type='x'))",
        'table("audit_log", column("id"))',
    ):
        assert _writes(write), write
    assert not _writes("select(Event.id).where(Event.type == 'x')")
