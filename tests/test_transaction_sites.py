"""Where transactions are opened, read from the source: only services.unit_of_work opens one
(services.database holds the pools it opens them on), and nothing writes through a read
connection (``Database.read()``, a route's ``DbRead``): a one-statement write goes through
``autocommit_write``, whose name says what it does."""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("services", "api", "worker")
UNIT_OF_WORK = "services/unit_of_work.py"
POOLS = "services/database.py"  # the engines and session factory the unit of work opens

# Calls that open a transaction or a connection that may hold one.
OPENING_METHODS = {"session", "begin", "connect"}
OPENING_FUNCTIONS = {"sessions", "AsyncSession", "async_sessionmaker", "create_async_engine", "create_engine"}
WRITE_SQL = re.compile(r"\b(INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE)
SQL_WRITERS = {"insert", "update", "delete"}  # sqlalchemy's statement constructors


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _opening_calls(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr in OPENING_METHODS and not node.args:
            found.append((node.lineno, f".{node.func.attr}()"))
        elif isinstance(node.func, ast.Name) and node.func.id in OPENING_FUNCTIONS:
            found.append((node.lineno, f"{node.func.id}()"))
    return found


def test_only_the_unit_of_work_opens_a_transaction():
    sites = [
        f"{name}:{line}: {call}"
        for name, tree in _modules()
        if name not in (UNIT_OF_WORK, POOLS)
        for line, call in _opening_calls(tree)
    ]
    assert sites == [], "open transactions through services.unit_of_work:\n" + "\n".join(sites)


def test_the_pools_module_opens_transactions_for_the_unit_of_work_only():
    """services.database defines ``session()`` and ``connect()``: nothing there calls them."""
    tree = dict(_modules())[POOLS]
    callers = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("session", "connect")
        and not (isinstance(node.func.value, ast.Attribute) and node.func.value.attr in ("engine", "read_engine"))
    ]
    assert callers == []


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _named_functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Module-level functions and methods: the ones called by name from elsewhere (a nested
    ``run`` is not the ``asyncio.run`` another module calls)."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield from (n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))


def _sqlalchemy_writers(tree: ast.Module) -> set[str]:
    """The local names this module gives sqlalchemy's insert, update and delete."""
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
        for alias in node.names
        if alias.name in SQL_WRITERS
    }


def _writes_directly(function: ast.AST, writers: set[str]) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in writers:
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and WRITE_SQL.search(node.value):
            return True
    return False


def _calls(function: ast.AST) -> set[str]:
    return {name for node in ast.walk(function) if isinstance(node, ast.Call) and (name := _called_name(node))}


def _writing_functions(modules: dict[str, ast.Module]) -> set[str]:
    """Names of the functions that write, or call one that does (by name: a name any writer
    bears counts as a writer)."""
    calls: dict[str, set[str]] = {}
    writing: set[str] = set()
    for tree in modules.values():
        writers = _sqlalchemy_writers(tree)
        for function in _named_functions(tree):
            calls.setdefault(function.name, set()).update(_calls(function))
            if _writes_directly(function, writers):
                writing.add(function.name)
    changed = True
    while changed:
        changed = False
        for name, called in calls.items():
            if name not in writing and called & writing:
                writing.add(name)
                changed = True
    return writing


def _reads(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether ``function`` holds a read connection: ``.read()`` or a ``DbRead`` parameter."""
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "read"
            and not (node.args or node.keywords)  # an HTTP response's read(n) is not one
        ):
            return True
    arguments = function.args.posonlyargs + function.args.args + function.args.kwonlyargs
    return any(isinstance(a.annotation, ast.Name) and a.annotation.id == "DbRead" for a in arguments)


def writes_through_reads(modules: dict[str, ast.Module]) -> list[str]:
    writing = _writing_functions(modules)
    found = []
    for name, tree in modules.items():
        if name == UNIT_OF_WORK:
            continue
        writers = _sqlalchemy_writers(tree)
        for function in _functions(tree):
            if not _reads(function):
                continue
            if _writes_directly(function, writers) or _calls(function) & writing:
                found.append(f"{name}:{function.lineno}: {function.name}")
    return found


def test_nothing_writes_through_a_read_connection():
    found = writes_through_reads(dict(_modules()))
    assert found == [], "a write on a read connection: use autocommit_write or unit_of_work\n" + "\n".join(found)


def test_the_scan_finds_a_write_on_a_read_connection():
    """The rule above can fail: a relay-queue release on ``read()`` is found, directly or
    through a function that writes."""
    source = """
from sqlalchemy import text, update

async def release(conn):
    await conn.execute(text("UPDATE relay_queue SET queued_until = NULL WHERE id = 1"))

async def through_a_call(database):
    async with database.read() as conn:
        await release(conn)

async def directly(database):
    async with database.read() as conn:
        await conn.execute(update(Thing).values(seen=True))
"""
    found = writes_through_reads({"worker/example.py": ast.parse(source)})
    assert [line.split(": ")[1] for line in found] == ["through_a_call", "directly"]
    assert _opening_calls(ast.parse("async def f(db):\n    async with db.session() as s:\n        pass\n")) != []
