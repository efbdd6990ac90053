"""Counting the SQL statements the application's engines issue, for the statement budgets."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from services.database import get_database


@contextmanager
def statements_issued() -> Iterator[list[str]]:
    """The SQL statements the running loop's engines (writes and reads) issue meanwhile, in
    order (BEGIN and COMMIT go through asyncpg's own calls, not these)."""
    database = get_database()
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append(statement)

    engines = (database.engine.sync_engine, database.read_engine.sync_engine)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
