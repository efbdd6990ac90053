import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from services.dates import RegistryDateTime
from services.schemas import EventPattern, InputModel, OutputModel
from services.webhooks.models import DeliveryStatus

Url = Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://\S+$")]


class EndpointFields(InputModel):
    read_only = frozenset(
        {
            "secret",
            "owner_principal_id",
            "owner_entity_id",
            "owner_role",
            "disabled_reason",
            "failing_since",
            "previous_secret",
        }
    )

    url: Url | None = None
    event_types: list[EventPattern] | None = Field(
        None,
        min_length=1,
        max_length=50,
        description="Exact types (`membership.created`), families (`meeting.*`) or `*`, each matching at least "
        "one type of GET /v1/event-types (else 422 `unknown-event-type`, naming the nearest).",
    )
    description: Annotated[str, StringConstraints(max_length=500)] | None = None
    enabled: bool | None = None

    @field_validator("event_types")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("list each event type once")
        return value


class EndpointCreate(EndpointFields):
    url: Url
    event_types: list[EventPattern] = Field(min_length=1, max_length=50)


class EndpointUpdate(EndpointFields):
    pass


class ReplayFailed(InputModel):
    since: RegistryDateTime = Field(description="Replay every failed delivery created since this time.")


class EndpointOut(OutputModel):
    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    owner_principal_id: str
    owner_entity_id: uuid.UUID | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="`whsec_…`: shown this once; verify deliveries with it.")


class AttemptOut(OutputModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None


class DeliveryOut(OutputModel):
    id: uuid.UUID
    webhook_id: str
    event_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    succeeded_at: datetime | None
    created_at: datetime
    attempt_log: list[AttemptOut]
