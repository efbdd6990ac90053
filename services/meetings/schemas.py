import uuid
import zoneinfo
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from services.dates import RegistryDateTime
from services.entities.schemas import Email, EntityRef
from services.meetings.models import MeetingKind, MeetingStatus
from services.schemas import InputModel, OutputModel

Text300 = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Url = Annotated[str, StringConstraints(max_length=1000, pattern=r"^https://\S+$")]
ReminderMinutes = Annotated[int, Field(ge=1, le=366 * 24 * 60)]


class AgendaItem(InputModel):
    title: Text300
    presenter: Annotated[str, StringConstraints(max_length=300)] | None = None
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


class MeetingFields(InputModel):
    read_only = frozenset({"sequence", "minutes", "outcomes", "cancel_reason", "attendance", "reminders"})

    title: Text300 | None = None
    starts_at: RegistryDateTime | None = None
    ends_at: RegistryDateTime | None = None
    time_zone: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, description="IANA time zone, e.g. Europe/Zurich."
    )
    location: Annotated[str, StringConstraints(max_length=500)] | None = None
    online_url: Url | None = None
    agenda: list[AgendaItem] | None = Field(None, max_length=100)
    invitees: list[InviteeIn] | None = Field(None, max_length=500)
    reminder_minutes: list[ReminderMinutes] | None = Field(
        None, max_length=10, description="Default: 30 days, 7 days, 1 day before."
    )

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
    time_zone: Annotated[str, StringConstraints(max_length=64)]

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
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class MeetingHold(InputModel):
    minutes: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
    attended_entity_ids: list[uuid.UUID] = Field(description="The invited entities that attended.")
    outcomes: list[Annotated[str, StringConstraints(min_length=1, max_length=2000)]] = Field(
        default_factory=list, max_length=100
    )


class InvitationOut(OutputModel):
    status: Literal["sent", "pending", "failed", "not_sent"] = Field(
        description="`pending`: queued, or being retried after a failure (see `reason`)."
    )
    reason: str | None = Field(description="Why it failed, or could not be sent.")
    sent_at: datetime | None


class InviteeOut(OutputModel):
    id: uuid.UUID
    entity: EntityRef | None
    name: str | None
    email: str | None
    attended: bool | None
    invitation: InvitationOut = Field(description="Whether this invitee's invitation e-mail went out.")


class ReminderOut(OutputModel):
    minutes_before: int
    due_at: datetime
    sent_at: datetime | None


class MeetingOut(OutputModel):
    id: uuid.UUID
    network_id: uuid.UUID
    working_group_id: uuid.UUID | None
    kind: MeetingKind
    title: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    location: str | None
    online_url: str | None
    agenda: list[AgendaItem]
    invitees: list[InviteeOut]
    status: MeetingStatus
    sequence: int
    reminder_minutes: list[int]
    reminders: list[ReminderOut]
    cancel_reason: str | None
    minutes: str | None
    outcomes: list[str]
    is_demo: bool
    created_at: datetime
    updated_at: datetime
