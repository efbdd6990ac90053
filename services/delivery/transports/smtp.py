"""The SMTP transport: a delivery is one e-mail (``services/mail/compose.py`` writes it) to one
recipient, over SMTP, or into ``DATA_DIR/mail/*.eml`` when no SMTP server is configured (a
developer's machine). A message the mail library refuses (a header with a line break in it)
or the server refuses for good (a 5xx to the recipient or the data) fails at once; no answer
(the server unreachable) or a passing refusal (4xx) is tried again on the schedule. The
server is the transport's one endpoint: once it answers again, the e-mails that wait for a
retry because it did not answer are made due at once."""

import asyncio
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.clock import clock
from services.delivery.leases import make_waiting_due
from services.delivery.transport import Answer, Attempted, Job, Verdict, describe
from services.delivery_status import DeliveryStatus
from services.events.models import Event
from services.locales import localizer, recipient_language
from services.mail.compose import compose
from services.mail.models import EmailAttempt, EmailDelivery
from services.mail.parties import PartyBook, invitation_parties, party_book_for
from services.networks.models import Network
from services.people.models import Person
from services.settings import Settings, get_settings

LEASE_SECONDS = 120.0
SENDS_AT_ONCE = 5  # each on a thread of its own, with its own connection to the server
SMTP_OK = 250

_EVENT_COLUMNS = ("id", "type", "occurred_at", "payload", "subject_type", "subject_id", "request_id")
_WITH_PARTIES = ("invitation", "cancellation")


@dataclass(frozen=True)
class _Mail:
    """What an e-mail delivery is made of: its recipient, kind and event, the parties a
    meeting's e-mail names, whether other e-mails wait because the server did not answer, the
    country of the event's network (for the UN designation footnote it may call for), and the
    language to write in (``recipient_language``: the person's at that address, else the network's)."""

    recipient: str
    kind: str
    event: Event
    parties: PartyBook | None
    server_was_unreachable: bool
    network_country_code: str | None
    language: str = "en"


def _waiting_for_the_server(now: Any) -> Any:
    """E-mails waiting for a retry because the server did not answer (no reply code)."""
    return (
        EmailDelivery.status == DeliveryStatus.PENDING,
        EmailDelivery.attempts > 0,
        EmailDelivery.last_status_code.is_(None),
        EmailDelivery.next_attempt_at > now,
    )


def _preferred_language(recipient: Any) -> Any:
    """The preferred language of the person of the registry whose address ``recipient`` is
    (the last updated, should two share it); NULL for an address no person holds (an
    entity's contact address, an external stakeholder). Read with the delivery's own row, so
    choosing a language costs no statement."""
    return (
        select(Person.preferred_language)
        .where(func.lower(Person.email) == func.lower(recipient), Person.erased_at.is_(None))
        .order_by(Person.updated_at.desc(), Person.id)
        .limit(1)
        .scalar_subquery()
    )


def _send_smtp(settings: Settings, message: EmailMessage) -> None:
    assert settings.smtp_host is not None
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)


def _write_eml(settings: Settings, delivery_id: uuid.UUID, message: EmailMessage) -> Path:
    folder = settings.data_dir / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{delivery_id}.eml"
    path.write_bytes(bytes(message))
    return path


class SmtpTransport:
    name = "email"
    model = EmailDelivery
    attempt_model = EmailAttempt
    succeeded_at = "sent_at"
    leased_columns: tuple[str, ...] = ("event_id", "recipient", "kind")
    lease_seconds = LEASE_SECONDS
    at_once = SENDS_AT_ONCE

    def loading(self, leased: Any) -> Select[Any]:
        now = clock.now()
        waiting = exists().where(*_waiting_for_the_server(now))
        return (
            select(
                leased.c.id,
                leased.c.attempts,
                leased.c.request_id,
                leased.c.recipient,
                leased.c.kind,
                waiting.label("server_was_unreachable"),
                *(getattr(Event, name) for name in _EVENT_COLUMNS),
                Network.country_code,
                Network.language,
                _preferred_language(leased.c.recipient),
            )
            .select_from(leased)
            .join(Event, Event.id == leased.c.event_id)
            .outerjoin(Network, Network.id == Event.network_id)
            .order_by(leased.c.id)
        )

    async def jobs(self, conn: AsyncConnection, rows: list[Any]) -> list[Job]:
        end = 6 + len(_EVENT_COLUMNS)
        events = [Event(**dict(zip(_EVENT_COLUMNS, row[6:end], strict=True))) for row in rows]
        meetings = [event.payload["meeting"] for event in events if event.type.startswith("meeting.")]
        former = [
            invitee
            for event in events
            if event.type == "meeting.updated"
            for invitee in ((event.payload.get("changes") or {}).get("invitees") or {}).get("before") or []
        ]  # an update's removed invitees, named in its "was" line
        parties = await party_book_for(conn, meetings, former_invitees=former) if meetings else None
        return [
            Job(
                row[0],
                row[1],
                row[2],
                None,
                _Mail(
                    row[3],
                    row[4],
                    event,
                    parties,
                    bool(row[5]),
                    row[end],
                    recipient_language(row[end + 2], row[end + 1]),
                ),
            )
            for row, event in zip(rows, events, strict=True)
        ]

    def compose(self, job: Job) -> EmailMessage:
        mail: _Mail = job.content
        event = mail.event
        parties = None  # an invitation's or cancellation's .ics names its organizer and attendees
        if mail.parties is not None and mail.kind in _WITH_PARTIES and event.type.startswith("meeting."):
            parties = invitation_parties(mail.parties, event.payload["meeting"], mail.recipient)
        message = compose(
            event,
            mail.recipient,
            mail.kind,
            record_base_url=get_settings().public_base_url,
            parties=parties,
            book=mail.parties,
            network_country_code=mail.network_country_code,
            loc=localizer(mail.language),
        )
        if event.request_id:  # the request that caused the message, for an operator following it
            message["X-Request-ID"] = event.request_id
        bytes(message)  # serialised now: what the library refuses is refused while composing
        return message

    async def send(self, job: Job, message: EmailMessage) -> Answer:
        settings = get_settings()
        if settings.smtp_host:
            await asyncio.to_thread(_send_smtp, settings, message)
            return Answer(Verdict.SUCCEEDED, SMTP_OK)
        await asyncio.to_thread(_write_eml, settings, job.delivery_id, message)
        return Answer(Verdict.SUCCEEDED)

    def classify(self, error: Exception) -> Answer:
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            code, _ = next(iter(error.recipients.values()), (None, b""))
            return Answer(_by_code(code), code, describe(error))
        if isinstance(error, smtplib.SMTPResponseException):
            permanent_kind = isinstance(error, smtplib.SMTPDataError)  # the message itself refused
            verdict = _by_code(error.smtp_code) if permanent_kind else Verdict.RETRY
            return Answer(verdict, error.smtp_code, describe(error))
        if isinstance(
            error, (UnicodeError, ValueError)
        ):  # the library refuses the message (an address it cannot encode)
            return Answer(Verdict.PERMANENT, None, describe(error))
        return Answer(Verdict.RETRY, None, describe(error))  # no answer: the server unreachable, or a defect

    def needs_follow_up(self, attempted: list[Attempted]) -> bool:
        return any(
            one.answer.verdict is Verdict.SUCCEEDED and one.job.content.server_was_unreachable for one in attempted
        )

    async def follow_up(self, session: AsyncSession, attempted: list[Attempted]) -> dict[uuid.UUID, str]:
        """The server answers again: the e-mails waiting because it did not are due now."""
        await make_waiting_due(session, EmailDelivery, EmailDelivery.last_status_code.is_(None), now=clock.now())
        return {}


def _by_code(code: int | None) -> Verdict:
    """An SMTP refusal: 5xx for good, anything else may pass."""
    return Verdict.PERMANENT if code is not None and 500 <= code < 600 else Verdict.RETRY
