"""A webhook receiver for the delivery benchmark: answers 204 at once and notes, per
request, when it arrived and the event's timestamp (the commit, near enough) from the body.

    uvicorn tests.benchmarks.receiver:app   GET /stats, POST /reset
"""

import time
from datetime import datetime

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

received: list[tuple[float, float, str]] = []  # (received at, event timestamp, webhook-id)


async def hook(request: Request) -> Response:
    now = time.time()
    body = orjson.loads(await request.body())
    received.append((now, datetime.fromisoformat(body["timestamp"]).timestamp(), request.headers["webhook-id"]))
    return Response(status_code=204)


async def stats(request: Request) -> Response:
    return Response(orjson.dumps(received), media_type="application/json")


async def reset(request: Request) -> Response:
    received.clear()
    return Response(status_code=204)


app = Starlette(
    routes=[Route("/hook", hook, methods=["POST"]), Route("/stats", stats), Route("/reset", reset, methods=["POST"])]
)
