"""The performance budget's baseline (docs/DOMAIN.md): a plain Starlette + asyncpg app serving the same reads from the
same tables as ``GET /v1/entities/{id}`` and ``GET /v1/entities?limit=50`` (every field of an
entity, its identifiers included, in one query), without authentication; and the same writes
as ``POST /v1/entities`` and ``POST /v1/memberships`` done by hand: the row, its event and its
audit entry inserted in one transaction, the body read and the answer written with orjson,
without the rules, idempotency or authentication the registry adds.

    BENCH_DSN=postgresql://... uvicorn tests.benchmarks.baseline_app:app --loop uvloop --http httptools
"""

import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

DSN = os.environ["BENCH_DSN"]
pool: asyncpg.Pool | None = None


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(DSN, min_size=4, max_size=10)
    yield
    await pool.close()


def _json(record: asyncpg.Record) -> dict[str, object]:
    return {
        k: (
            json.loads(v)
            if k == "identifiers"
            else str(v)
            if isinstance(v, uuid.UUID)
            else v.isoformat()
            if hasattr(v, "isoformat")
            else v
        )
        for k, v in record.items()
    }


COLUMNS = (
    "SELECT id, acronym, name, kind, un_system, parent_id, office_level, country_code, website, contact_email,"
    " COALESCE((SELECT json_agg(json_build_object('scheme', i.scheme, 'value', i.value) ORDER BY i.scheme, i.value)"
    " FROM entity_identifiers i WHERE i.entity_id = e.id), '[]') AS identifiers, is_demo, created_at, updated_at"
    " FROM entities e"
)


async def one(request: Request) -> Response:
    assert pool is not None
    row = await pool.fetchrow(f"{COLUMNS} WHERE id = $1", uuid.UUID(request.path_params["id"]))
    if row is None:
        return Response(status_code=404)
    return Response(json.dumps(_json(row)), media_type="application/json")


async def page(request: Request) -> Response:
    assert pool is not None
    after = uuid.UUID(request.query_params.get("after", "00000000-0000-0000-0000-000000000000"))
    rows = await pool.fetch(f"{COLUMNS} WHERE id > $1 ORDER BY id LIMIT 50", after)
    return Response(json.dumps({"items": [_json(r) for r in rows]}), media_type="application/json")


# Each list route's rows by hand: the table's own columns, the route's filter, id order, the
# default page size (the registry's answer may carry more, joined in).
LIST_QUERIES = {
    "entities": "entities",
    "networks": "networks",
    "network memberships": "memberships WHERE network_id = $1",
    "network posts": "network_posts WHERE network_id = $1",
    "memberships": "memberships",
    "working groups": "working_groups",
    "working group chairs": "working_group_posts WHERE working_group_id = $1 AND kind = 'chair'",
    "working group members": "working_group_posts WHERE working_group_id = $1 AND kind = 'member'",
    "mous": "mous",
    "reviews": "reviews",
    "review recommendations": "review_recommendations WHERE review_id = $1",
    "meetings": "meetings",
    "webhook endpoints": "webhook_endpoints",
    "webhook deliveries": "webhook_deliveries WHERE endpoint_id = $1",
    "api keys": "api_keys",
    "audit log": "audit_log",
    "calendar subscriptions": "calendar_subscriptions",
    "workplans": "workplans",
    "workplan activities": "workplan_activities WHERE workplan_id = $1",
    "champion countries": "champion_countries WHERE network_id = $1",
    "pledges": "pledges",
    "people": "people",
    "person posts": "focal_point_posts WHERE person_id = $1",
}


async def listed(request: Request) -> Response:
    assert pool is not None
    name = request.path_params["name"].replace("-", " ")
    parent = request.query_params.get("parent")
    query = f"SELECT * FROM {LIST_QUERIES[name]} ORDER BY id LIMIT 50"
    rows = await (pool.fetch(query, uuid.UUID(parent)) if parent else pool.fetch(query))
    items = [{k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in r.items()} for r in rows]
    return Response(json.dumps({"items": items}, default=str), media_type="application/json")


def _uuid7() -> uuid.UUID:
    """Time-ordered ids, as the registry's (new rows land at the index's right edge)."""
    now_ns = time.time_ns()
    value = ((now_ns // 1_000_000) << 80) | (0x7 << 76) | ((now_ns % 1_000_000) * 4096 // 1_000_000 << 64)
    return uuid.UUID(int=value | (0b10 << 62) | (int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF))


_INSERT_EVENT = (
    "INSERT INTO events (id, type, subject_type, subject_id, network_id, actor, payload)"
    " VALUES ($1, $2, $3, $4, $5, 'baseline', $6::jsonb)"
)
_INSERT_AUDIT = (
    "INSERT INTO audit_log (id, principal_id, principal_role, action, resource_type, resource_id, owner_entity_id,"
    " network_id, after) VALUES ($1, 'baseline', 'admin', $2, $3, $4, $5, $6, $7::jsonb)"
)


def _record(row: asyncpg.Record) -> dict[str, object]:
    return {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in row.items()}


async def _write(kind: str, insert: str, values: tuple[object, ...], network_id: uuid.UUID | None) -> Response:
    assert pool is not None
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(insert, *values)
        if row is None:
            return Response(status_code=409)
        record = _record(row)
        payload = orjson.dumps({kind: record}).decode()
        owner = row["id"] if kind == "entity" else row["entity_id"]
        await conn.execute(_INSERT_EVENT, _uuid7(), f"{kind}.created", kind, row["id"], network_id, payload)
        await conn.execute(
            _INSERT_AUDIT,
            _uuid7(),
            f"{kind}.created",
            kind,
            row["id"],
            owner,
            network_id,
            orjson.dumps(record).decode(),
        )
    return Response(orjson.dumps(record), status_code=201, media_type="application/json")


async def create_entity(request: Request) -> Response:
    body = orjson.loads(await request.body())
    insert = (
        "INSERT INTO entities (id, acronym, name, kind) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING RETURNING id, acronym, name, kind::text, un_system, parent_id, office_level::text,"
        " country_code, website, contact_email, is_demo, created_at, updated_at, version"
    )
    return await _write("entity", insert, (_uuid7(), body["acronym"], body["name"], body["kind"]), None)


async def create_membership(request: Request) -> Response:
    body = orjson.loads(await request.body())
    network_id = uuid.UUID(body["network_id"])
    insert = (
        "INSERT INTO memberships (id, network_id, entity_id, tier, start_date, end_date)"
        " VALUES ($1, $2, $3, $4, $5::text::date, $6::text::date) RETURNING id, network_id, entity_id, tier::text,"
        " start_date, end_date, is_demo, created_at, updated_at, version"
    )
    values = (_uuid7(), network_id, uuid.UUID(body["entity_id"]), body["tier"], body["start_date"], body["end_date"])
    return await _write("membership", insert, values, network_id)


app = Starlette(
    routes=[
        Route("/row/{id}", one),
        Route("/page", page),
        Route("/entities", create_entity, methods=["POST"]),
        Route("/memberships", create_membership, methods=["POST"]),
        Route("/list/{name}", listed),
    ],
    lifespan=lifespan,
)
