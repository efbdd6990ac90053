"""The import flow: every row of a file through its kind's domain service, each in a savepoint
so that one rejected row undoes only itself and the rest are still checked; the caller's unit
of work then commits all of it, or (a dry run, or any row rejected) none of it."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.errors import DomainError
from services.imports.kinds import ImportKind, RowRejected
from services.imports.reading import CsvRow
from services.principals import Principal
from services.tables import looks_like_formula

CREATED, UNCHANGED, REJECTED = "created", "unchanged", "rejected"


@dataclass(frozen=True)
class RowOutcome:
    line: int
    status: str  # created, unchanged or rejected
    detail: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.status}: {self.detail}"


@dataclass
class ImportReport:
    kind: str
    outcomes: list[RowOutcome] = field(default_factory=list)

    @property
    def rejected(self) -> list[RowOutcome]:
        return [o for o in self.outcomes if o.status == REJECTED]

    def summary(self) -> str:
        counts = Counter(o.status for o in self.outcomes)
        return (
            f"{len(self.outcomes)} rows: {counts[CREATED]} created, {counts[UNCHANGED]} unchanged, "
            f"{counts[REJECTED]} rejected"
        )


def _validation_reason(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _formula_reason(values: dict[str, str]) -> str | None:
    """Text a spreadsheet would run is refused: it is almost always a formula that leaked out
    of the sheet the file came from, not the value meant."""
    for column, value in values.items():
        if looks_like_formula(value):
            return f"{column}: {value[:40]!r} reads as a spreadsheet formula; give the value itself"
    return None


async def _import_row(
    session: AsyncSession, kind: ImportKind, row: CsvRow, actor: Principal, seen: dict[tuple[Any, ...], int]
) -> RowOutcome:
    if "" in row.values:  # the reader's note on a row of the wrong width
        return RowOutcome(row.line, REJECTED, row.values[""])
    formula = _formula_reason(row.values)
    if formula is not None:
        return RowOutcome(row.line, REJECTED, formula)
    savepoint = await session.begin_nested()
    try:
        prepared = await kind.prepare(session, row.values)
        first = seen.setdefault(prepared.key, row.line)
        if first != row.line:
            raise RowRejected(f"{prepared.label} repeats line {first}")
        applied = await kind.apply(session, prepared, actor)
    except ValidationError as error:
        await savepoint.rollback()
        return RowOutcome(row.line, REJECTED, _validation_reason(error))
    except (RowRejected, DomainError) as error:
        await savepoint.rollback()
        return RowOutcome(row.line, REJECTED, str(error))
    await savepoint.commit()
    return RowOutcome(row.line, applied.status, applied.label)


async def import_rows(
    session: AsyncSession,
    kind: ImportKind,
    rows: list[CsvRow],
    *,
    actor: Principal,
    on_row: Callable[[RowOutcome], None] | None = None,
) -> ImportReport:
    """Each row through ``kind``'s service as ``actor`` (events and audit entries included).
    Rows already in the registry are ``unchanged``; a row that repeats an earlier row's
    natural key is rejected. Nothing is committed here: the caller commits only when the
    report has no rejected row (and it is not a dry run)."""
    report = ImportReport(kind.name)
    seen: dict[tuple[Any, ...], int] = {}
    for row in rows:
        outcome = await _import_row(session, kind, row, actor, seen)
        report.outcomes.append(outcome)
        if on_row is not None:
            on_row(outcome)
    return report
