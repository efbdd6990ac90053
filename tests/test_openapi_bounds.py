"""The document bounds every input and describes every answer (docs/API.md, "Limits"): no 2xx
with an empty schema, every request string with a maxLength and a pattern that refuses control
characters, every request array with a maxItems, no optional header declared nullable; and the
routes whose answers are documents serve exactly the documented shapes."""

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from api import documents
from services.meetings.schemas import MeetingHold
from services.mous.schemas import AreaIn
from tests.read_world import read_url, read_world
from tests.test_response_shapes import assert_shape
from tests.webhook_receiver import Receiver

UNBOUNDED_FORMATS = frozenset({"uuid", "date", "date-time"})  # fixed shapes, bounded by their format


@pytest.fixture
async def document(client) -> dict[str, Any]:
    return (await client.get("/openapi.json")).json()


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def walk(
    schema: dict[str, Any], where: str, components: dict[str, Any], seen: frozenset[str] = frozenset()
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema inside ``schema`` (through references, each once per path), with where it is."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from walk(components[name], f"{where}->{name}", components, seen | {name})
        return
    yield where, schema
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key, []):
            yield from walk(branch, where, components, seen)
    for name, property_schema in schema.get("properties", {}).items():
        yield from walk(property_schema, f"{where}.{name}", components, seen)
    if isinstance(schema.get("items"), dict):
        yield from walk(schema["items"], f"{where}[]", components, seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from walk(schema["additionalProperties"], f"{where}{{}}", components, seen)


def request_schemas(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(where, schema, in) for every parameter and request body of the document."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                yield f"{method} {path} {parameter['in']}:{parameter['name']}", parameter["schema"], parameter["in"]
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                yield f"{method} {path} body({media})", content["schema"], "body"


async def test_every_2xx_declares_a_schema(document):
    empty = [
        f"{method} {path} {status} {media}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        for status, response in operation["responses"].items()
        if status.startswith("2")
        for media, content in response.get("content", {}).items()
        if not content.get("schema")
    ]
    assert empty == []


async def test_every_request_string_and_array_is_bounded(document):
    components = document["components"]["schemas"]
    unbounded = []
    for where, schema, _ in request_schemas(document):
        for inner_where, inner in walk(schema, where, components):
            kind = inner.get("type")
            bounded = "maxLength" in inner or "enum" in inner or "const" in inner
            if kind == "string" and not bounded and inner.get("format") not in UNBOUNDED_FORMATS:
                unbounded.append(f"{inner_where}: string without maxLength")
            if kind == "array" and "maxItems" not in inner:
                unbounded.append(f"{inner_where}: array without maxItems")
    assert unbounded == []


async def test_every_request_string_refuses_control_characters(document):
    components = document["components"]["schemas"]
    loose = []
    for where, schema, located in request_schemas(document):
        for inner_where, inner in walk(schema, where, components):
            if inner.get("type") != "string" or "enum" in inner or inner.get("format") in UNBOUNDED_FORMATS:
                continue
            pattern = inner.get("pattern")
            if pattern is None:
                loose.append(f"{inner_where}: no pattern")
                continue
            for character in ("\x00", "\x07", "\x7f", "\x9b"):
                if re.search(pattern, f"a{character}b") or re.search(pattern, character):
                    loose.append(f"{inner_where}: takes U+{ord(character):04X}")
            if located != "body" and re.search(pattern, "a\nb"):
                loose.append(f"{inner_where}: a parameter takes a line break")
    assert loose == [], "\n".join(loose)


async def test_no_optional_header_is_nullable(document):
    nullable = [
        where
        for where, schema, located in request_schemas(document)
        if located == "header" and any(branch.get("type") == "null" for branch in schema.get("anyOf", []))
    ]
    assert nullable == []


async def test_the_stated_bounds_are_the_enforced_ones(document, client, session):
    paths = document["paths"]
    (key,) = [p for p in paths["/v1/entities"]["post"]["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["schema"]["maxLength"] == 255
    body = {"acronym": "IDEM", "name": "Idempotent", "kind": "un_system"}
    refused = await client.post("/v1/entities", json=body, headers={"Idempotency-Key": "k" * 256})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["header"] == "Idempotency-Key"
    accepted = await client.post("/v1/entities", json=body, headers={"Idempotency-Key": "k" * 255})
    assert accepted.status_code == 201, accepted.text
    kind = document["components"]["schemas"]["EntityUpdate"]["properties"]["kind"]
    assert "anyOf" not in kind and "default" not in kind  # may be left out, never null
    etag = accepted.headers["ETag"]
    cleared = await client.patch(
        f"/v1/entities/{accepted.json()['id']}", json={"kind": None}, headers={"If-Match": etag}
    )
    assert cleared.status_code == 422
    assert "/calendars/{token}.ics" in "".join(paths)
    assert list(paths["/v1/calendars/{token}.ics"]["get"]["responses"]["200"]["content"]) == ["text/calendar"]


def test_attendance_and_supporters_are_bounded_and_listed_once():
    first, second = uuid.uuid4(), uuid.uuid4()
    hold = {"minutes": "Held.", "attended_entity_ids": [str(first), str(second), str(first)]}
    with pytest.raises(ValueError, match=f"list each attending entity once; repeated: {first}"):
        MeetingHold.model_validate(hold)
    crowd = {"minutes": "x", "attended_entity_ids": [str(uuid.UUID(int=n)) for n in range(25_000)]}
    with pytest.raises(ValueError, match="at most 500 items"):
        MeetingHold.model_validate(crowd)
    area = {"description": "x", "gcm_objectives": [1], "lead_entity_id": str(first)}
    with pytest.raises(ValueError, match="at most 50 items"):
        AreaIn.model_validate(area | {"supporting_entity_ids": [str(uuid.uuid4()) for _ in range(51)]})
    with pytest.raises(ValueError, match="list each supporting party once"):
        AreaIn.model_validate(area | {"supporting_entity_ids": [str(second), str(second)]})


# Routes whose answers are documents (api/documents.py), and the model each serves.
DOCUMENTED: dict[str, type[BaseModel]] = {
    "/healthz": documents.Liveness,
    "/readyz": documents.Readiness,
    "/v1/gcm/objectives": documents.ObjectiveList,
    "/v1/gcm/principles": documents.PrincipleList,
    "/v1/events": documents.FeedPage,
    "/v1/networks/{network_id}/coverage": documents.CoverageOut,
    "/v1/networks/{network_id}/indicators": documents.IndicatorsOut,
    "/v1/networks/{network_id}/meeting-compliance": documents.MeetingComplianceOut,
    "/v1/mous/{mou_id}/history": documents.MouHistoryOut,
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


async def test_every_documented_answer_has_its_models_keys(client, session, receiver):
    ids = await read_world(client, session, receiver)
    for path, model in DOCUMENTED.items():
        url = read_url(path, ids)
        response = await client.get(url)
        assert response.status_code == 200, f"GET {url}: {response.text}"
        body = response.json()
        assert_shape(body, model, f"GET {url}", ordered=False)
        model.model_validate(body)
