"""Schemathesis' ``ignored_auth`` check over every operation of the OpenAPI document: each one
that succeeds with credentials must refuse the same request without them, or with bad ones."""

import asyncio

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth
from sqlalchemy import text

from api.app import create_app
from services.api_keys.service import create_bootstrap_admin_key
from services.database import create_database
from services.settings import get_settings

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


async def _admin_key() -> str:
    database = create_database(get_settings())
    try:
        async with database.session() as session:
            key = await create_bootstrap_admin_key(session, name="schemathesis", only_if_none=False)
    finally:
        await database.dispose()
    assert key is not None
    return key


async def _clean() -> None:
    database = create_database(get_settings())
    try:
        async with database.engine.begin() as conn:
            await conn.execute(
                text(
                    "TRUNCATE memberships, networks, entity_identifiers, api_keys, entities, events, idempotency_keys, "
                    "webhook_endpoints, webhook_deliveries, webhook_attempts, email_deliveries, meetings CASCADE"
                )
            )
    finally:
        await database.dispose()


@pytest.fixture(scope="module")
def admin_key(migrated_database):
    key = asyncio.run(_admin_key())
    yield key
    asyncio.run(_clean())


@schema.parametrize()
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_enforces_authentication(case, admin_key):
    case.call_and_validate(checks=[ignored_auth], headers={"Authorization": f"Bearer {admin_key}"})
