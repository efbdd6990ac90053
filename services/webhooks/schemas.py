import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator
from sqlalchemy import select

from services.dates import RegistryDateTime
from services.delivery_status import DeliveryStatus
from services.events.models import Event
from services.schemas import MULTI_LINE, SINGLE_LINE, WEB_ADDRESS, EventPattern, InputModel, OutputModel
from services.shapes import Derived, From, json_array, json_object
from services.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

Url = Annotated[str, StringConstraints(max_length=2000), WEB_ADDRESS, SINGLE_LINE]


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
    description: Annotated[str, StringConstraints(max_length=500), MULTI_LINE] | None = None
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
    id: Annotated[uuid.UUID, From(WebhookEndpoint.id)]
    url: Annotated[str, From(WebhookEndpoint.url)]
    description: Annotated[str | None, From(WebhookEndpoint.description)]
    event_types: Annotated[list[str], From(WebhookEndpoint.event_types)]
    enabled: Annotated[bool, From(WebhookEndpoint.enabled)]
    disabled_reason: Annotated[str | None, From(WebhookEndpoint.disabled_reason)]
    owner_principal_id: Annotated[str, From(WebhookEndpoint.owner_principal_id)]
    owner_entity_id: Annotated[uuid.UUID | None, From(WebhookEndpoint.owner_entity_id)]
    failing_since: Annotated[datetime | None, From(WebhookEndpoint.failing_since)]
    previous_secret_expires_at: Annotated[datetime | None, From(WebhookEndpoint.previous_secret_expires_at)]
    created_at: Annotated[datetime, From(WebhookEndpoint.created_at)]
    updated_at: Annotated[datetime, From(WebhookEndpoint.updated_at)]


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="`whsec_…`: shown this once; verify deliveries with it.")


class AttemptOut(OutputModel):
    attempted_at: Annotated[datetime, From(WebhookAttempt.attempted_at)]
    status_code: Annotated[int | None, From(WebhookAttempt.status_code)]
    latency_ms: Annotated[int, From(WebhookAttempt.latency_ms)]
    error: Annotated[str | None, From(WebhookAttempt.error)]


# The delivery's attempts, oldest first.
_ATTEMPT_LOG = (
    select(json_array(json_object(AttemptOut), WebhookAttempt.attempted_at))
    .where(WebhookAttempt.delivery_id == WebhookDelivery.id)
    .scalar_subquery()
)


class DeliveryOut(OutputModel):
    id: Annotated[uuid.UUID, From(WebhookDelivery.id)]
    webhook_id: Annotated[str, Derived("repository.with_webhook_id, from the id")]
    event_id: Annotated[uuid.UUID, From(WebhookDelivery.event_id)]
    event_type: Annotated[str, From(Event.type)]  # joined on event_id
    status: Annotated[DeliveryStatus, From(WebhookDelivery.status)]
    attempts: Annotated[int, From(WebhookDelivery.attempts)]
    next_attempt_at: Annotated[datetime, From(WebhookDelivery.next_attempt_at)]
    last_status_code: Annotated[int | None, From(WebhookDelivery.last_status_code)]
    last_error: Annotated[str | None, From(WebhookDelivery.last_error)]
    succeeded_at: Annotated[datetime | None, From(WebhookDelivery.succeeded_at)]
    created_at: Annotated[datetime, From(WebhookDelivery.created_at)]
    attempt_log: Annotated[list[AttemptOut], From(_ATTEMPT_LOG)]
