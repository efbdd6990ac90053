from fastapi import APIRouter, Response
from sqlalchemy import text

from api.deps import DbRead
from api.responses import json_response

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def liveness() -> Response:
    """The process is up (no dependencies checked)."""
    return json_response({"status": "ok"})


@router.get("/readyz")
async def readiness(conn: DbRead) -> Response:
    """The process can reach its database."""
    await conn.execute(text("SELECT 1"))
    return json_response({"status": "ready"})
