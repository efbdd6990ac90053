import uuid
import zoneinfo
from collections import Counter
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator
from sqlalchemy import Date, DateTime, String, Uuid, bindparam, case, cast, column, func, null, or_, select, table

from services.clock import clock
from services.dates import RegistryDateTime
from services.delivery_status import DeliveryStatus
from services.entities.models import Entity, enum_column
from services.entities.schemas import Email, EntityRef
from services.events.models import Event
from services.meetings.models import Meeting, MeetingInvitee, MeetingKind, MeetingReminder, MeetingStatus
from services.people.models import FocalPointPost, Person
from services.people.repository import post_active_on
from services.schemas import (
    MULTI_LINE,
    SECURE_WEB_ADDRESS,
    SINGLE_LINE,
    TRANSLATIONS_DESCRIPTION,
    InputModel,
    OtherLanguage,
    OutputModel,
)
from services.shapes import From, json_array, json_object

Text300 = Annotated[str, StringConstraints(min_length=1, max_length=300), SINGLE_LINE]
Url = Annotated[str, StringConstraints(max_length=1000), SECURE_WEB_ADDRESS, SINGLE_LINE]
ReminderMinutes = Annotated[int, Field(ge=1, le=366 * 24 * 60)]


class AgendaItem(InputModel):
    title: Text300
    presenter: Annotated[str, StringConstraints(max_length=300), SINGLE_LINE] | None = None
    duration_minutes: Annotated[int, Field(ge=1, le=24 * 60)] | None = None


class InviteeIn(InputModel):
    entity_id: uuid.UUID | None = Field(None, description="A member of the network, or a registered stakeholder.")
    name: Text300 | None = Field(None, description="An external stakeholder not in the registry...")
    email: Email | None = Field(None, description="...and its contact e-mail.")

    @model_validator(mode="after")
    def _who(self) -> "InviteeIn":
        if self.entity_id is None and not (self.name and self.email):
            raise ValueError("an invitee is an entity_id, or a name with an email")
        return self


# The fields a meeting's translations may hold.
TRANSLATED_FIELDS = ("title",)


class MeetingTexts(InputModel):
    """A meeting's title in one language."""

    title: Text300 | None = None


MeetingTranslations = Annotated[
    dict[OtherLanguage, MeetingTexts], Field(max_length=5, description=TRANSLATIONS_DESCRIPTION)
]


class MeetingFields(InputModel):
    read_only = frozenset({"sequence", "minutes", "outcomes", "cancel_reason", "attendance", "reminders"})

    title: Text300 | None = None
    starts_at: RegistryDateTime | None = None
    ends_at: RegistryDateTime | None = None
    time_zone: Annotated[str, StringConstraints(max_length=64), SINGLE_LINE] | None = Field(
        None, description="IANA time zone, e.g. Europe/Zurich."
    )
    location: Annotated[str, StringConstraints(max_length=500), SINGLE_LINE] | None = None
    online_url: Url | None = None
    agenda: list[AgendaItem] | None = Field(None, max_length=100)
    invitees: list[InviteeIn] | None = Field(None, max_length=500)
    reminder_minutes: list[ReminderMinutes] | None = Field(
        None, max_length=10, description="Default: 30 days, 7 days, 1 day before."
    )
    translations: MeetingTranslations | None = None

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
                raise ValueError(f"{value!r} is not an IANA time zone") from error
        return value

    @field_validator("reminder_minutes")
    @classmethod
    def _distinct(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("list each reminder once")
        return value


class MeetingCreate(MeetingFields):
    network_id: uuid.UUID
    kind: MeetingKind
    working_group_id: uuid.UUID | None = Field(None, description="Required for a working group's meeting.")
    title: Text300
    starts_at: RegistryDateTime
    ends_at: RegistryDateTime
    time_zone: Annotated[str, StringConstraints(max_length=64), SINGLE_LINE]

    @model_validator(mode="after")
    def _consistent(self) -> "MeetingCreate":
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if not (self.location or self.online_url):
            raise ValueError("give a location, an online_url, or both")
        if (self.kind == MeetingKind.WORKING_GROUP) != (self.working_group_id is not None):
            raise ValueError("working_group_id is given for, and only for, a working_group meeting")
        return self


class MeetingUpdate(MeetingFields):
    read_only = MeetingFields.read_only | {"network_id", "kind", "working_group_id"}


class MeetingCancel(InputModel):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000), MULTI_LINE]


class MeetingHold(InputModel):
    minutes: Annotated[str, StringConstraints(min_length=1, max_length=100_000), MULTI_LINE]
    attended_entity_ids: list[uuid.UUID] | None = Field(
        None,
        max_length=500,
        description="The invited entities that attended, each once (a meeting has at most 500 invitees). "
        "Left out, the attendance starts from the answers: the invited entities that accepted.",
    )
    outcomes: list[Annotated[str, StringConstraints(min_length=1, max_length=2000), MULTI_LINE]] = Field(
        default_factory=list, max_length=100
    )

    @field_validator("attended_entity_ids")
    @classmethod
    def _each_once(cls, value: list[uuid.UUID] | None) -> list[uuid.UUID] | None:
        if value is None:
            return None
        repeated = sorted(str(i) for i, n in Counter(value).items() if n > 1)
        if repeated:
            raise ValueError(f"list each attending entity once; repeated: {', '.join(repeated[:5])}")
        return value


# The e-mail deliveries, read by name: the mail package (their model) sits above meetings.
_EMAILS = table(
    "email_deliveries",
    column("event_id", Uuid),
    column("recipient", String),
    column("kind", String),
    column("status", enum_column(DeliveryStatus, "email_delivery_status")),
    column("last_error", String),
    column("sent_at", DateTime(timezone=True)),
    column("created_at", DateTime(timezone=True)),
)


# Read from the latest invitation e-mail to the invitee (see _INVITATION).
class InvitationOut(OutputModel):
    status: Annotated[
        Literal["sent", "pending", "failed", "not_sent"],
        From(case((_EMAILS.c.status == DeliveryStatus.SUCCEEDED, "sent"), else_=cast(_EMAILS.c.status, String))),
    ] = Field(description="`pending`: queued, or being retried after a failure (see `reason`).")
    reason: Annotated[str | None, From(_EMAILS.c.last_error)] = Field(
        description="Why it failed, or could not be sent."
    )
    sent_at: Annotated[datetime | None, From(_EMAILS.c.sent_at)]


# Whether the invitation reached this invitee: ``sent``, ``pending`` (queued or being retried),
# ``failed``, or ``not_sent``, with why — from the latest invitation e-mail to the invitee's
# address (its own; its entity's focal points', or its contact address).
_ADDRESS = func.lower(func.coalesce(MeetingInvitee.email, Entity.contact_email))
_FOCAL_POINT_ADDRESSES = (
    select(Person.email)
    .where(Person.entity_id == MeetingInvitee.entity_id, Person.email.is_not(None))
    .correlate(MeetingInvitee)
)
_HAS_FOCAL_POINT = (
    select(FocalPointPost.id)
    .join(Person, Person.id == FocalPointPost.person_id)
    .where(
        FocalPointPost.entity_id == MeetingInvitee.entity_id,
        post_active_on(bindparam("focal_points_on", type_=Date, callable_=clock.today)),
        Person.email.is_not(None),
    )
    .correlate(MeetingInvitee)
    .exists()
)
_DELIVERED = (
    select(json_object(InvitationOut))
    .join(Event, Event.id == _EMAILS.c.event_id)
    .where(
        Event.subject_type == "meeting",
        Event.subject_id == Meeting.id,
        _EMAILS.c.kind == "invitation",
        or_(_EMAILS.c.recipient == _ADDRESS, _EMAILS.c.recipient.in_(_FOCAL_POINT_ADDRESSES)),
    )
    .order_by(_EMAILS.c.created_at.desc())
    .limit(1)
    # Two levels down from the meeting's select: named, or SQLAlchemy would give this
    # subquery a FROM of every meeting of its own (the invitee's latest invitation to any
    # meeting, read through all of them).
    .correlate(Meeting, MeetingInvitee, Entity)
    .scalar_subquery()
)
_WHY_NOT = case(
    (
        _ADDRESS.is_(None) & ~_HAS_FOCAL_POINT,
        "no e-mail address: give the entity a focal point (POST /v1/people) or a contact_email",
    ),
    (Meeting.ends_at <= func.now(), "the meeting had ended before an invitation went out"),
    else_=null(),
)
_NOTHING_YET = json_object(
    InvitationOut, status=case((_WHY_NOT.is_(None), "pending"), else_="not_sent"), reason=_WHY_NOT, sent_at=null()
)
_INVITATION = func.coalesce(_DELIVERED, _NOTHING_YET)


class InviteeOut(OutputModel):
    id: Annotated[uuid.UUID, From(MeetingInvitee.id)]
    # External invitees have no entity.
    entity: Annotated[
        EntityRef | None,
        From(case((MeetingInvitee.entity_id.is_(None), null()), else_=json_object(EntityRef, Entity))),
    ]
    name: Annotated[str | None, From(MeetingInvitee.name)]
    email: Annotated[str | None, From(MeetingInvitee.email)]
    attended: Annotated[bool | None, From(MeetingInvitee.attended)]
    answer: Annotated[Literal["accepted", "tentative", "declined"] | None, From(MeetingInvitee.answer)] = Field(
        description="The invitee's answer to its invitation (from its e-mail's links, or an iTIP REPLY); null: none yet."
    )
    answered_at: Annotated[datetime | None, From(MeetingInvitee.answered_at)] = Field(
        description="When the answer was given (the latest, when it changed its mind)."
    )
    invitation: Annotated[InvitationOut, From(_INVITATION)] = Field(
        description="Whether this invitee's invitation e-mail went out."
    )


class ReminderOut(OutputModel):
    minutes_before: Annotated[int, From(MeetingReminder.minutes_before)]
    due_at: Annotated[datetime, From(MeetingReminder.due_at)]
    sent_at: Annotated[datetime | None, From(MeetingReminder.sent_at)]


_INVITEES = (
    select(json_array(json_object(InviteeOut), MeetingInvitee.id))
    .select_from(MeetingInvitee)
    .outerjoin(Entity, Entity.id == MeetingInvitee.entity_id)
    .where(MeetingInvitee.meeting_id == Meeting.id)
    .scalar_subquery()
)
_REMINDERS = (
    select(json_array(json_object(ReminderOut), MeetingReminder.due_at))
    .where(MeetingReminder.meeting_id == Meeting.id)
    .scalar_subquery()
)


class MeetingOut(OutputModel):
    id: Annotated[uuid.UUID, From(Meeting.id)]
    network_id: Annotated[uuid.UUID, From(Meeting.network_id)]
    working_group_id: Annotated[uuid.UUID | None, From(Meeting.working_group_id)]
    kind: Annotated[MeetingKind, From(Meeting.kind)]
    title: Annotated[str, From(Meeting.title)]
    starts_at: Annotated[datetime, From(Meeting.starts_at)]
    ends_at: Annotated[datetime, From(Meeting.ends_at)]
    time_zone: Annotated[str, From(Meeting.time_zone)]
    location: Annotated[str | None, From(Meeting.location)]
    online_url: Annotated[str | None, From(Meeting.online_url)]
    agenda: Annotated[list[AgendaItem], From(Meeting.agenda)]
    translations: Annotated[dict[str, dict[str, str]], From(Meeting.translations)] = Field(
        description="The title in the other official languages, as stored; title above is in the language "
        "of Content-Language, the original where it has no translation. E-mails to a person use their language's."
    )
    invitees: Annotated[list[InviteeOut], From(_INVITEES)]
    status: Annotated[MeetingStatus, From(Meeting.status)]
    sequence: Annotated[int, From(Meeting.sequence)]
    reminder_minutes: Annotated[list[int], From(Meeting.reminder_minutes)]
    reminders: Annotated[list[ReminderOut], From(_REMINDERS)]
    cancel_reason: Annotated[str | None, From(Meeting.cancel_reason)]
    minutes: Annotated[str | None, From(Meeting.minutes)]
    outcomes: Annotated[list[str], From(Meeting.outcomes)]
    is_demo: Annotated[bool, From(Meeting.is_demo)]
    created_at: Annotated[datetime, From(Meeting.created_at)]
    updated_at: Annotated[datetime, From(Meeting.updated_at)]
