"""The OpenAPI document's ``webhooks`` (OpenAPI 3.1): one entry per event type of the
catalogue, describing the POST a subscribed endpoint receives — the body the sender posts
(services.webhooks.delivery.body_for: ``{type, timestamp, data}``, ``data`` the type's
payload, or a reference when the payload is too large), the Standard Webhooks headers, and
the answer the registry expects."""

from typing import Any

from pydantic.json_schema import models_json_schema

from services.events.catalogue import CATALOGUE, Visibility
from services.webhooks.delivery import MAX_BODY_BYTES

_REF = "#/components/schemas/{model}"

# What `data` is instead of the payload when the body would exceed MAX_BODY_BYTES.
TRUNCATED_DATA: dict[str, Any] = {
    "type": "object",
    "description": f"Sent instead of the payload when the body would exceed {MAX_BODY_BYTES} bytes: "
    "read the event from the change feed (GET /v1/events) by its id.",
    "properties": {
        "subject_type": {"type": "string"},
        "subject_id": {"type": "string", "format": "uuid"},
        "truncated": {"const": True},
        "event_id": {"type": "string", "format": "uuid"},
    },
    "required": ["subject_type", "subject_id", "truncated", "event_id"],
    "additionalProperties": False,
}

_HEADERS = (
    ("webhook-id", "The delivery's id (`msg_…`): the same on every retry of one delivery; deduplicate on it."),
    ("webhook-timestamp", "When this attempt was signed, in Unix seconds; refuse one far from your clock."),
    (
        "webhook-signature",
        "`v1,<base64 HMAC-SHA256>` of `<webhook-id>.<webhook-timestamp>.<body>` with the endpoint's secret "
        "(space-separated: two while a rotated secret overlaps).",
    ),
)

_RESPONSES: dict[str, Any] = {
    "200": {
        "description": "Received. Any 2xx status counts as delivered; answer within the timeout "
        "and do the work afterwards. Any other status, or none, is retried with backoff."
    },
    "410": {"description": "Gone: the registry disables the endpoint and stops delivering."},
}


def _title(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace(".", "_").split("_"))


def add_webhooks(document: dict[str, Any]) -> dict[str, Any]:
    """Add the catalogue's payload schemas to ``components.schemas`` and one webhook per type."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    payloads = {t.payload for t in CATALOGUE.values()}
    refs, generated = models_json_schema(
        [(model, "validation") for model in sorted(payloads, key=lambda m: m.__name__)], ref_template=_REF
    )
    for name, schema in generated.get("$defs", {}).items():
        if name in schemas and schemas[name] != schema:
            raise ValueError(f"event payload schema {name} clashes with the API's schema of that name")
        schemas[name] = schema
    schemas["TruncatedEventData"] = TRUNCATED_DATA
    webhooks: dict[str, Any] = {}
    for t in CATALOGUE.values():
        payload_ref = refs[(t.payload, "validation")]
        envelope = {
            "title": f"{_title(t.name)}Webhook",
            "type": "object",
            "properties": {
                "type": {"const": t.name},
                "timestamp": {"type": "string", "format": "date-time", "description": "When the event occurred."},
                "data": {"anyOf": [payload_ref, {"$ref": _REF.format(model="TruncatedEventData")}]},
            },
            "required": ["type", "timestamp", "data"],
        }
        audience = (
            "Delivered to admins' endpoints and the record owner's only."
            if t.visibility is Visibility.ADMIN_AND_OWNER
            else "Delivered to every endpoint subscribed to it; only admins' endpoints receive invitees' e-mail addresses."
        )
        webhooks[t.name] = {
            "post": {
                "operationId": f"webhook_{t.name.replace('.', '_')}",
                "summary": t.label,
                "description": f"{t.description} {audience}",
                "tags": ["webhooks"],
                "parameters": [
                    {"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "description": about}
                    for name, about in _HEADERS
                ],
                "requestBody": {"required": True, "content": {"application/json": {"schema": envelope}}},
                "responses": _RESPONSES,
            }
        }
    document["webhooks"] = webhooks
    return document
