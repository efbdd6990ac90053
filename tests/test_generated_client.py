"""A client generated from /openapi.json with openapi-python-client builds without a warning,
has every operation, and works: a scenario driven through it against the app on PostgreSQL."""

import datetime
import importlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from httpx import ASGITransport

from tests.factories import make_entity, make_membership, make_network
from tests.served_app import served_app

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> object:
    """The generated package, imported (``registry_client``)."""
    where = tmp_path_factory.mktemp("client")
    document = where / "openapi.json"
    document.write_text(json.dumps(served_app().openapi()))
    # An iTIP REPLY is sent as text/calendar, which the generator does not know: it sends it
    # as the bytes it is, as a client of any language would.
    config = where / "config.json"
    config.write_text(json.dumps({"content_type_overrides": {"text/calendar": "application/octet-stream"}}))
    done = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            f"--path={document}",
            f"--config={config}",
            "--meta=none",
            "--output-path=registry_client",
        ],
        cwd=where,
        capture_output=True,
        text=True,
        env=os.environ | {"PATH": f"{BIN}:{os.environ.get('PATH', '')}"},  # its post-hook runs ruff
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Warning" not in output and "Skipping" not in output, output
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module("registry_client")
    finally:
        sys.path.remove(str(where))
        for name in [n for n in sys.modules if n.split(".")[0] == "registry_client"]:
            del sys.modules[name]


def test_every_operation_is_generated(generated):
    operations = sum(len(item) for item in served_app().openapi()["paths"].values())
    modules = [p for p in Path(generated.__file__).parent.glob("api/*/*.py") if p.name != "__init__.py"]
    assert len(modules) == operations


async def test_a_scenario_through_the_generated_client(generated, app, make_client, session):
    from registry_client import AuthenticatedClient
    from registry_client.api.entities import (
        create_entity_v1_entities_post as create_entity,
    )
    from registry_client.api.entities import (
        get_entity_v1_entities_entity_id_get as get_entity,
    )
    from registry_client.api.entities import (
        list_entities_v1_entities_get as list_entities,
    )
    from registry_client.api.entities import (
        update_entity_v1_entities_entity_id_patch as update_entity,
    )
    from registry_client.api.meetings import (
        create_meeting_v1_meetings_post as create_meeting,
    )
    from registry_client.api.meetings import (
        meeting_calendar_v1_meetings_meeting_id_ics_get as meeting_calendar,
    )
    from registry_client.api.reports import get_activity_report_v1_networks_network_id_reports_activity_get as report
    from registry_client.models import EntityCreate, EntityKind, EntityOut, EntityUpdate, MeetingCreate, Problem

    admin = await make_client("admin")
    token = admin.headers["Authorization"].removeprefix("Bearer ")
    network = await make_network(session)
    for acronym in ("CLA", "CLB"):
        entity = await make_entity(session, acronym=acronym)
        await make_membership(session, network_id=network["id"], entity_id=entity["id"])
    client = AuthenticatedClient(
        base_url="http://registry.test", token=token, httpx_args={"transport": ASGITransport(app=app)}
    )
    async with client:
        listed = await list_entities.asyncio_detailed(client=client)
        assert listed.status_code == 200 and {e.acronym for e in listed.parsed.items} >= {"CLA", "CLB"}

        body = EntityCreate(acronym="GEN", name="Generated", kind=EntityKind.UN_SYSTEM)
        first = await create_entity.asyncio_detailed(client=client, body=body, idempotency_key="scenario-1")
        again = await create_entity.asyncio_detailed(client=client, body=body, idempotency_key="scenario-1")
        assert first.status_code == again.status_code == 201
        assert isinstance(first.parsed, EntityOut) and again.parsed.id == first.parsed.id

        read = await get_entity.asyncio_detailed(first.parsed.id, client=client)
        assert read.parsed.acronym == "GEN"
        etag = read.headers["etag"]

        page = await list_entities.asyncio_detailed(client=client, limit=1)
        assert page.parsed.next_cursor
        following = await list_entities.asyncio_detailed(client=client, limit=1, cursor=page.parsed.next_cursor)
        assert following.parsed.items[0].id != page.parsed.items[0].id

        updated = await update_entity.asyncio_detailed(
            first.parsed.id, client=client, body=EntityUpdate(name="Generated, renamed"), if_match=etag
        )
        assert updated.status_code == 200 and updated.parsed.name == "Generated, renamed"
        stale = await update_entity.asyncio_detailed(
            first.parsed.id, client=client, body=EntityUpdate(name="Lost update"), if_match=etag
        )
        assert stale.status_code == 412 and isinstance(stale.parsed, Problem)

        meeting = await create_meeting.asyncio_detailed(
            client=client,
            body=MeetingCreate.from_dict(
                {
                    "network_id": str(network["id"]),
                    "kind": "executive_committee",
                    "title": "Generated meeting",
                    "starts_at": "2030-03-01T09:00:00+01:00",
                    "ends_at": "2030-03-01T12:00:00+01:00",
                    "time_zone": "Europe/Zurich",
                    "location": "Geneva",
                }
            ),
        )
        assert meeting.status_code == 201, meeting.content
        calendar = await meeting_calendar.asyncio_detailed(meeting.parsed.id, client=client)
        # text/calendar is bytes to this client (the override above): a calendar is parsed by the app reading it.
        assert calendar.status_code == 200 and calendar.content.startswith(b"BEGIN:VCALENDAR")
        as_json = await report.asyncio_detailed(
            network["id"], client=client, from_=datetime.date(2024, 1, 1), to=datetime.date(2024, 12, 31)
        )
        assert as_json.status_code == 200 and as_json.parsed is not None

    # The generated functions parse every 200 as the first media type listed (JSON); the CSV and
    # zip representations are fetched with the client's own configured httpx client.
    as_csv = AuthenticatedClient(
        base_url="http://registry.test",
        token=token,
        headers={"Accept": "text/csv"},
        httpx_args={"transport": ASGITransport(app=app)},
    )
    async with as_csv:
        http = as_csv.get_async_httpx_client()
        table = await http.get(f"/v1/networks/{network['id']}/coverage")
        assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
        assert table.content.splitlines()[0].startswith("\ufeffObjective,Title".encode())  # for a spreadsheet
        bundle = await http.get(
            f"/v1/networks/{network['id']}/reports/activity", params={"from": "2024-01-01", "to": "2024-12-31"}
        )
        assert bundle.status_code == 200 and bundle.headers["content-type"] == "application/zip"
        assert all(name.endswith(".csv") for name in zipfile.ZipFile(io.BytesIO(bundle.content)).namelist())
