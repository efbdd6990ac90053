"""What one entry of the event catalogue says, and the payload shapes several domains share.

An entry names the type, says what it means, types its payload, says who may see it, how a
report labels it, and whether (and how) it is mailed. Payload models describe what the
services put in ``payload`` today: the record as the API shows it, under the record's type,
with ``changes`` for an update and a few members of the type's own."""

import enum
import uuid
from dataclasses import dataclass
from datetime import date as Day
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

from services.locales import DEFAULT_LANGUAGE, Localizer, localizer


class Visibility(enum.StrEnum):
    """Who may see an event, in the change feed and through webhooks alike."""

    PUBLIC = "public"  # the registry's public record: every authenticated caller
    ADMIN_AND_OWNER = "admin_and_owner"  # secrets' metadata, URLs, filters: admins and the record's owner


@dataclass(frozen=True)
class OwnedBy:
    """Where a private event names its owner: the payload member holding the record (named
    after the subject type), the record's field naming the owning entity, and the one naming
    the owning principal (``None``: the record is an API key, whose own principal is
    ``key:<subject id>``). Every event of that subject type is private."""

    record: str
    entity_field: str
    principal_field: str | None = None


class Recipients(enum.StrEnum):
    """Who an e-mailed event goes to (services.mail.compose finds their addresses)."""

    INVITEES = "invitees"  # the meeting's invitees
    MOU_PARTIES = "mou_parties"  # the contacts of the MoU's parties
    COORDINATOR = "coordinator"  # the network's coordinating entity
    REVIEW_LEAD_AND_COORDINATOR = "review_lead_and_coordinator"
    RECOMMENDATION_OWNER = "recommendation_owner"
    ENDPOINT_OWNER = "endpoint_owner"  # the webhook endpoint's owning entity
    NETWORK_COORDINATOR = "network_coordinator"  # the coordinating entity of the event's network
    PLEDGER_AND_COORDINATOR = "pledger_and_coordinator"  # a stakeholder pledger's contact, and the coordinator


@dataclass(frozen=True)
class Mail:
    """How an event reads in an e-mail. ``subject`` and ``summary`` are ``str.format``
    templates over the payload's members and ``base_url`` (the public base URL), e.g.
    ``{mou[title]}``; a meeting's message adds the meeting and its .ics after the summary.
    ``only_if_changed``: mailed only when the update changed one of these fields."""

    kind: str  # invitation, cancellation, reminder, alert or notice
    to: Recipients
    subject: str
    summary: str = ""
    only_if_changed: frozenset[str] | None = None

    def render(self, payload: dict[str, Any], *, base_url: str, loc: Localizer | None = None) -> tuple[str, str]:
        """The subject and the summary for this payload, in ``loc``'s language (English by
        default): the templates from the message catalogues, the payload's days
        (``…_date``, ``period_start``, ``due_by``…) as the language writes them."""
        loc = loc or localizer(DEFAULT_LANGUAGE)
        values = {**_days_written(payload, loc), "base_url": base_url}
        return loc.gettext(self.subject).format(**values), loc.gettext(self.summary).format(**values)


_DAY_KEYS = ("_date", "_start", "_end", "due_by")


def _days_written(value: Any, loc: Localizer, key: str = "") -> Any:
    """``value`` with every day a payload holds (ISO text under a key ending ``_date``,
    ``_start`` or ``_end``, or ``due_by``) written for a reader: ``7 March 2025``, ``7 mars 2025``."""
    if isinstance(value, dict):
        return {k: _days_written(v, loc, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_days_written(v, loc, key) for v in value]
    if isinstance(value, str) and key.endswith(_DAY_KEYS) and len(value) == len("2025-03-07"):
        try:
            return loc.date(Day.fromisoformat(value))
        except ValueError:
            return value
    return value


@dataclass(frozen=True)
class EventType:
    """One entry of the catalogue."""

    name: str  # `<subject type>.<what happened>`: `membership.created`
    description: str  # one line, for integrators
    payload: type[BaseModel]  # the payload's schema
    label: str  # how a report names it: "Membership tier changed"
    visibility: Visibility = Visibility.PUBLIC
    owned_by: OwnedBy | None = None  # set exactly when visibility is ADMIN_AND_OWNER
    mail: Mail | None = None  # None: not mailed

    @property
    def domain(self) -> str:
        return self.name.split(".", 1)[0]


class Record(BaseModel):
    """A record as the API shows it. The fields listed are always there; a record may carry
    more (a field added to the API shows here too)."""

    model_config = ConfigDict(extra="allow")


class Payload(BaseModel):
    """An event's payload: exactly these members."""

    model_config = ConfigDict(extra="forbid")


class RecordRef(BaseModel):
    """An entity as records name it."""

    id: uuid.UUID
    name: str
    acronym: str


class FieldChange(BaseModel):
    """A field's value before and after the change."""

    before: Any
    after: Any


Changes = dict[str, FieldChange]


def payload(name: str, description: str, **members: Any) -> type[Payload]:
    """A payload model named ``name``: each member is ``(type, ...)`` when always present,
    ``(type, None)`` when only some events of the type carry it."""
    model: type[Payload] = create_model(name, __base__=Payload, __doc__=description, **members)
    return model


class Stamps(Record):
    """What every stored record shows: when it was created and last changed, and its version."""

    created_at: datetime
    updated_at: datetime
    version: int
