"""Events about callers' means of access: API keys, webhook endpoints and calendar
subscriptions. They carry secrets' metadata, URLs and filters, so only admins and the
record's owner see them, in the change feed and through webhooks alike."""

import uuid
from datetime import datetime

from services.events.types.common import Changes, EventType, Mail, OwnedBy, Recipients, Stamps, Visibility, payload


class ApiKeyRecord(Stamps):
    id: uuid.UUID
    name: str
    prefix: str
    role: str
    entity_id: uuid.UUID | None
    person_id: uuid.UUID | None = None
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None


class EndpointRecord(Stamps):
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


class SubscriptionRecord(Stamps):
    id: uuid.UUID
    name: str
    scope: str
    subject_id: uuid.UUID
    token_prefix: str
    owner_principal_id: str
    owner_entity_id: uuid.UUID | None
    revoked_at: datetime | None
    revoked_by: str | None


ApiKeyPayload = payload("ApiKeyPayload", "The API key (never its secret).", api_key=(ApiKeyRecord, ...))
ApiKeyChangedPayload = payload(
    "ApiKeyChangedPayload",
    "The API key after the change, and the changed fields.",
    api_key=(ApiKeyRecord, ...),
    changes=(Changes, ...),
)
EndpointPayload = payload(
    "WebhookEndpointPayload", "The endpoint (never its secret).", webhook_endpoint=(EndpointRecord, ...)
)
EndpointChangedPayload = payload(
    "WebhookEndpointChangedPayload",
    "The endpoint after the change, and the changed fields.",
    webhook_endpoint=(EndpointRecord, ...),
    changes=(Changes, ...),
)
EndpointDisabledPayload = payload(
    "WebhookEndpointDisabledPayload",
    "The endpoint, why it was disabled, and its owner.",
    webhook_endpoint=(EndpointRecord, ...),
    reason=(str, ...),
    owner_principal_id=(str, ...),
)
SubscriptionPayload = payload(
    "CalendarSubscriptionPayload",
    "The subscription (never its token).",
    calendar_subscription=(SubscriptionRecord, ...),
)
SubscriptionChangedPayload = payload(
    "CalendarSubscriptionChangedPayload",
    "The subscription after the change, and the changed fields.",
    calendar_subscription=(SubscriptionRecord, ...),
    changes=(Changes, ...),
)

_PRIVATE = Visibility.ADMIN_AND_OWNER
_KEY = OwnedBy("api_key", entity_field="entity_id")
_ENDPOINT = OwnedBy("webhook_endpoint", entity_field="owner_entity_id", principal_field="owner_principal_id")
_SUBSCRIPTION = OwnedBy("calendar_subscription", entity_field="owner_entity_id", principal_field="owner_principal_id")

TYPES = (
    EventType("api_key.created", "An API key was issued.", ApiKeyPayload, "API key issued", _PRIVATE, _KEY),
    EventType("api_key.revoked", "An API key was revoked.", ApiKeyChangedPayload, "API key revoked", _PRIVATE, _KEY),
    EventType(
        "webhook_endpoint.created",
        "A webhook endpoint was registered.",
        EndpointPayload,
        "Webhook endpoint registered",
        _PRIVATE,
        _ENDPOINT,
    ),
    EventType(
        "webhook_endpoint.updated",
        "A webhook endpoint's URL, filters, description or state changed.",
        EndpointChangedPayload,
        "Webhook endpoint updated",
        _PRIVATE,
        _ENDPOINT,
    ),
    EventType(
        "webhook_endpoint.deleted",
        "A webhook endpoint was deleted (as it was).",
        EndpointPayload,
        "Webhook endpoint deleted",
        _PRIVATE,
        _ENDPOINT,
    ),
    EventType(
        "webhook_endpoint.secret_rotated",
        "A webhook endpoint's secret was rotated; the old one signs too for 24 hours.",
        EndpointChangedPayload,
        "Webhook secret rotated",
        _PRIVATE,
        _ENDPOINT,
    ),
    EventType(
        "webhook_endpoint.replayed",
        "A webhook endpoint's failed deliveries were sent again.",
        EndpointChangedPayload,
        "Webhook deliveries replayed",
        _PRIVATE,
        _ENDPOINT,
    ),
    EventType(
        "webhook_endpoint.disabled",
        "A webhook endpoint was disabled: it answered 410 Gone, or failed for 5 days.",
        EndpointDisabledPayload,
        "Webhook endpoint disabled",
        _PRIVATE,
        _ENDPOINT,
        mail=Mail(
            "alert",
            Recipients.ENDPOINT_OWNER,
            subject="A webhook endpoint was disabled",
            summary="Webhook endpoint {webhook_endpoint[url]} was disabled: {reason}.\n",
        ),
    ),
    EventType(
        "calendar_subscription.created",
        "A calendar subscription was created.",
        SubscriptionPayload,
        "Calendar subscription created",
        _PRIVATE,
        _SUBSCRIPTION,
    ),
    EventType(
        "calendar_subscription.revoked",
        "A calendar subscription was revoked.",
        SubscriptionChangedPayload,
        "Calendar subscription revoked",
        _PRIVATE,
        _SUBSCRIPTION,
    ),
)
