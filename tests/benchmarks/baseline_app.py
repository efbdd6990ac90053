"""The performance budget's baseline (docs/DOMAIN.md): a plain Starlette + asyncpg app serving the same reads from the
same tables as ``GET /v1/entities/{id}`` and ``GET /v1/entities?limit=50`` (every field of an
entity, its identifiers included, in one query), without authentication.

    BENCH_DSN=postgresql://... uvicorn tests.benchmarks.baseline_app:app --loop uvloop --http httptools
"""

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
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


app = Starlette(routes=[Route("/row/{id}", one), Route("/page", page)], lifespan=lifespan)
