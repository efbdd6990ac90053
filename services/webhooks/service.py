"""Rules for webhook endpoints: who registers them, their secrets. Replaying their deliveries
is the delivery engine's (``services/delivery/replay.py``)."""

import base64
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.clock import clock
from services.errors import Forbidden, NotFound
from services.events.catalogue import check_patterns
from services.events.service import append_event
from services.ids import uuid7
from services.principals import Principal, Role
from services.records import apply_patch, check_version, record_change
from services.webhooks import repository
from services.webhooks.models import WebhookEndpoint
from services.webhooks.schemas import EndpointCreate, EndpointUpdate
from services.webhooks.secrets import sealed_of, store_secrets, unseal
from services.webhooks.targets import check_endpoint_url

ROTATION_OVERLAP = timedelta(hours=24)
MAY_REGISTER = (Role.ADMIN, Role.SYSTEM, Role.INTEGRATOR)


def new_secret() -> str:
    """``whsec_`` and 32 random bytes, base64 (Standard Webhooks)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def record_endpoint_change(
    session: AsyncSession, event: str, endpoint: WebhookEndpoint, actor: Principal, **details: Any
) -> dict[str, Any]:
    return await record_change(
        session,
        event=event,
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        owner_entity_id=endpoint.owner_entity_id,
        load_row=repository.get_endpoint_row,
        actor=actor,
        **details,
    )


async def load_endpoint_for_update(session: AsyncSession, endpoint_id: uuid.UUID, actor: Principal) -> WebhookEndpoint:
    """An endpoint the caller may see (404 otherwise, whether or not it exists)."""
    endpoint = await session.scalar(
        select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, repository.visible_to(actor)).with_for_update()
    )
    if endpoint is None:
        raise NotFound("webhook-endpoint-not-found", f"No webhook endpoint has id {endpoint_id}.")
    return endpoint


async def create_endpoint(
    session: AsyncSession, *, data: EndpointCreate, actor: Principal
) -> tuple[dict[str, Any], str]:
    """Register an endpoint; returns it and its secret, which is shown this once."""
    if actor.role not in MAY_REGISTER:
        raise Forbidden(
            "webhooks-for-integrators", "Webhook endpoints are registered by integrators and the secretariat."
        )
    check_patterns(data.event_types, location="body.event_types")  # before the URL's DNS lookup: cheap first
    await check_endpoint_url(data.url)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=uuid7(),  # before the secret is sealed: the ciphertext is bound to it
        url=data.url,
        description=data.description,
        event_types=data.event_types,
        enabled=True if data.enabled is None else data.enabled,
        owner_principal_id=actor.id,
        owner_role=actor.role.value,
        owner_entity_id=actor.entity_id,
    )
    store_secrets(endpoint, secret=secret, previous=None)
    session.add(endpoint)
    await session.flush()
    return await record_endpoint_change(session, "created", endpoint, actor), secret


async def update_endpoint(
    session: AsyncSession,
    *,
    endpoint_id: uuid.UUID,
    data: EndpointUpdate,
    expected_version: int | None,
    actor: Principal,
) -> dict[str, Any]:
    endpoint = await load_endpoint_for_update(session, endpoint_id, actor)
    check_version("webhook endpoint", endpoint.version, expected_version)
    if "event_types" in data.model_fields_set and data.event_types is not None:
        check_patterns(data.event_types, location="body.event_types")
    if "url" in data.model_fields_set and data.url is not None:
        await check_endpoint_url(data.url)
    changes = apply_patch(endpoint, data, required=frozenset({"url", "event_types", "enabled"}))
    if changes.get("enabled", (None, False))[1] is True:
        endpoint.disabled_reason = None
        endpoint.failing_since = None
    return await record_endpoint_change(session, "updated", endpoint, actor, changes=changes)


async def delete_endpoint(session: AsyncSession, *, endpoint_id: uuid.UUID, actor: Principal) -> None:
    endpoint = await load_endpoint_for_update(session, endpoint_id, actor)
    row = await repository.get_endpoint_row(session, endpoint_id)
    assert row is not None
    await session.delete(endpoint)
    await session.flush()
    await append_event(
        session,
        type="webhook_endpoint.deleted",
        subject_type="webhook_endpoint",
        subject_id=endpoint_id,
        owner_entity_id=row["owner_entity_id"],
        actor=actor,
        payload={"webhook_endpoint": row},
        before={k: v for k, v in row.items() if k != "version"},
    )


async def rotate_secret(
    session: AsyncSession, *, endpoint_id: uuid.UUID, actor: Principal
) -> tuple[dict[str, Any], str]:
    """A new secret; the old one keeps signing too (a second signature) for 24 hours."""
    endpoint = await load_endpoint_for_update(session, endpoint_id, actor)
    secret = new_secret()
    current, _ = unseal(endpoint.id, sealed_of(endpoint))
    store_secrets(endpoint, secret=secret, previous=current)  # both under the active key
    endpoint.previous_secret_expires_at = clock.now() + ROTATION_OVERLAP
    row = await record_endpoint_change(
        session,
        "secret_rotated",
        endpoint,
        actor,
        changes={"previous_secret_expires_at": (None, endpoint.previous_secret_expires_at)},
    )
    return row, secret
