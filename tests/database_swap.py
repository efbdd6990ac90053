"""The app served on another database than the process's own (one that is down, or starved of
connections), and a PostgreSQL role that gets no connection: for the outage tests."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from httpx import ASGITransport, AsyncClient
from sqlalchemy import make_url

from services import database as databases
from services.database import Database
from services.settings import get_settings
from tests.conftest import TEST_DATABASE, database_url
from tests.served_app import served_app


@asynccontextmanager
async def serving_on(database: Database) -> AsyncIterator[AsyncClient]:
    """A client of the app whose requests use ``database`` on this event loop; afterwards
    ``database`` is disposed and the loop's own database put back."""
    loop = asyncio.get_running_loop()
    healthy = databases._databases.get(loop)
    databases._databases[loop] = database
    try:
        async with AsyncClient(transport=ASGITransport(app=served_app()), base_url="http://t") as client:
            yield client
    finally:
        await database.dispose()
        if healthy is None:
            databases._databases.pop(loop, None)
        else:
            databases._databases[loop] = healthy


@asynccontextmanager
async def role_with_no_connection_to_spare(suffix: str) -> AsyncIterator[str]:
    """A login role limited to one connection, which another client holds: every connection
    made with the URL this yields is refused with "too many clients" (SQLSTATE 53300)."""
    role = f"{TEST_DATABASE}_{suffix}"
    server = make_url(database_url("postgres")).set(drivername="postgresql")
    admin = await asyncpg.connect(server.render_as_string(hide_password=False))
    try:
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        await admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 1')
        limited = make_url(get_settings().database_url).set(username=role)
        holder = await asyncpg.connect(limited.set(drivername="postgresql").render_as_string(hide_password=False))
        try:
            yield limited.render_as_string(hide_password=False)
        finally:
            await holder.close()
            await admin.execute(f'DROP ROLE "{role}"')
    finally:
        await admin.close()
