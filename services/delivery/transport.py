"""What the engine asks of a transport (HTTP webhooks, SMTP): lease and load a batch of its
deliveries, compose one delivery's message, send it, say why a failure happened and whether
it can ever succeed, and keep its endpoints' health in the outcome's unit of work."""

import enum
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


class Verdict(enum.StrEnum):
    """What one attempt came to. ``retry``: it may succeed later (the schedule decides when);
    ``permanent``: it never can (the delivery fails now); ``gone``: the endpoint said it is
    gone for good (the delivery fails and the transport disables the endpoint)."""

    SUCCEEDED = "succeeded"
    RETRY = "retry"
    PERMANENT = "permanent"
    GONE = "gone"


@dataclass(frozen=True)
class Job:
    """One leased delivery: ``attempts`` made before this one, the request id it carries,
    its endpoint (None for a transport with one endpoint), and what the transport loaded to
    compose it from."""

    delivery_id: uuid.UUID
    attempts: int
    request_id: str | None
    endpoint_id: uuid.UUID | None
    content: Any


@dataclass(frozen=True)
class Answer:
    """The far side's answer, or the failure that stood in for one: its verdict, a status
    code (HTTP status, SMTP reply code; None when there was no answer) and what went wrong."""

    verdict: Verdict
    status_code: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Attempted:
    job: Job
    answer: Answer
    latency_ms: int


class Transport(Protocol):
    """A way of delivering: ``name`` labels its metrics and log lines; ``model`` and
    ``attempt_model`` are its delivery and attempt tables (the columns
    ``services.delivery.leases`` names, plus ``last_status_code`` and ``last_error``);
    ``succeeded_at`` names the column a success stamps; a lease lasts ``lease_seconds``."""

    @property
    def name(self) -> str: ...
    @property
    def model(self) -> Any: ...
    @property
    def attempt_model(self) -> Any: ...
    @property
    def succeeded_at(self) -> str: ...
    @property
    def leased_columns(self) -> tuple[str, ...]:
        """The delivery's columns ``loading`` reads from the lease's CTE, besides id,
        attempts and request_id."""
        ...

    @property
    def lease_seconds(self) -> float: ...
    @property
    def at_once(self) -> int:
        """Deliveries of a batch sent at once."""
        ...

    def loading(self, leased: Any) -> Select[Any]:
        """The SELECT over ``leased`` (a CTE of the lease's UPDATE, returning the delivery's
        ``id``, ``attempts``, ``request_id`` and the transport's ``leased_columns``) that
        loads what composing needs: one statement for the batch."""
        ...

    async def jobs(self, conn: AsyncConnection, rows: list[Any]) -> list[Job]:
        """The jobs of the loaded rows (reading more only when some need it)."""
        ...

    def compose(self, job: Job) -> Any:
        """The message; raises when it cannot be made (then it never can: a permanent failure)."""
        ...

    async def send(self, job: Job, message: Any) -> Answer:
        """Send it; an answer, or raises (``classify`` judges the exception)."""
        ...

    def classify(self, error: Exception) -> Answer:
        """Whether the failure ``send`` raised may pass (retry) or never will (permanent)."""
        ...

    def needs_follow_up(self, attempted: list[Attempted]) -> bool:
        """Whether ``follow_up`` has anything to do for this batch (without it the outcome is
        one statement, with no transaction around it)."""
        ...

    async def follow_up(self, session: AsyncSession, attempted: list[Attempted]) -> dict[uuid.UUID, str]:
        """The endpoints' side of the outcome, in its unit of work: failing, recovered (their
        waiting deliveries due at once), disabled. Returns the deliveries whose outcome it
        changed (``disabled``)."""
        ...


def describe(error: BaseException) -> str:
    """A failure as ``last_error`` keeps it: its kind and message, at most 500 characters."""
    return f"{type(error).__name__}: {error}"[:500]
