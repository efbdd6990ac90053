"""A creation written with its event and audit entry in one statement
(services.events.service.insert_recording_event) records what the API shows: the event's
payload is the record as a GET returns it (with its version), the audit entry's ``after`` the
same without the version; the JSON the database writes for a time is the registry's own."""

from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import literal, select, text
from sqlalchemy.dialects.postgresql import TIMESTAMP

from services.database import json_dumps
from services.events.service import _as_json
from tests.factories import make_entity, make_network


async def _recorded(connection, subject_id: str) -> tuple[dict, dict]:
    event = (
        await connection.execute(
            text("SELECT type, payload FROM events WHERE subject_id = CAST(:id AS uuid)"), {"id": subject_id}
        )
    ).one()
    audit = (
        await connection.execute(
            text("SELECT action, before, after FROM audit_log WHERE resource_id = CAST(:id AS uuid)"),
            {"id": subject_id},
        )
    ).one()
    assert audit.action == event.type and audit.before is None
    return event.payload, audit.after


async def _shown(client, path: str) -> dict:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return {**response.json(), "version": int(response.headers["etag"].strip('"'))}


async def test_a_new_entity_is_recorded_as_the_api_shows_it(client, connection):
    created = await client.post(
        "/v1/entities", json={"acronym": "RECORDED", "name": "Recorded", "kind": "un_system", "country_code": "CH"}
    )
    assert created.status_code == 201, created.text
    shown = await _shown(client, f"/v1/entities/{created.json()['id']}")
    payload, after = await _recorded(connection, shown["id"])
    assert payload == {"entity": shown}
    assert after == {k: v for k, v in shown.items() if k != "version"}


@pytest.mark.parametrize("end_date", [None, "2024-12-31"])
async def test_a_new_membership_is_recorded_as_the_api_shows_it(end_date, client, session, connection):
    network = await make_network(session)
    entity = await make_entity(session)
    body = {"network_id": str(network["id"]), "entity_id": str(entity["id"]), "tier": "extended"}
    created = await client.post("/v1/memberships", json={**body, "start_date": "2024-01-01", "end_date": end_date})
    assert created.status_code == 201, created.text
    shown = await _shown(client, f"/v1/memberships/{created.json()['id']}")
    payload, after = await _recorded(connection, shown["id"])
    assert payload == {"membership": shown}
    assert after == {k: v for k, v in shown.items() if k != "version"}


async def test_a_refused_creation_records_nothing(client, connection):
    body = {"acronym": "TWICE", "name": "Twice", "kind": "un_system"}
    assert (await client.post("/v1/entities", json=body)).status_code == 201
    before = await connection.scalar(text("SELECT count(*) FROM events"))
    again = await client.post("/v1/entities", json={**body, "acronym": "twice"})
    assert again.status_code == 409, again.text
    assert await connection.scalar(text("SELECT count(*) FROM events")) == before


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 7, 17, 4, 5, 123456, tzinfo=UTC),
        datetime(2026, 12, 7, 17, 4, 5, 120000, tzinfo=UTC),  # trailing zeros kept, as orjson writes them
        datetime(2026, 12, 7, 17, 4, 5, 0, tzinfo=UTC),  # no fraction at all
        datetime(1900, 1, 1, 0, 0, 0, 7, tzinfo=UTC),
    ],
)
async def test_a_time_the_database_sets_reads_in_json_as_the_registry_writes_it(moment, connection):
    await connection.execute(text("SET LOCAL TIME ZONE 'America/Lima'"))  # whatever the session's zone
    written = await connection.scalar(select(_as_json(literal(moment, TIMESTAMP(timezone=True)))))
    assert orjson.loads(json_dumps({"t": moment}))["t"] == written
