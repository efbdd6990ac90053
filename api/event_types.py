"""The catalogue of event types, for integrators choosing what to subscribe to."""

import functools
from typing import Any, Literal

from fastapi import Response
from pydantic import Field

from api.deps import Authenticated
from api.dispatch import PathRouter
from api.openapi import problems
from api.planned import PlannedRoute
from api.responses import json_response
from services.events.catalogue import describe
from services.schemas import OutputModel

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/event-types",
    tags=["events"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)


class EventTypeOut(OutputModel):
    name: str = Field(description="`<subject type>.<what happened>`: what webhooks and the change feed filter on.")
    description: str
    label: str = Field(description="How the activity report names it.")
    visibility: Literal["public", "admin_and_owner"] = Field(
        description="`public`: every caller sees it; `admin_and_owner`: admins and the record's owner only."
    )
    mailed: bool = Field(description="Whether the registry e-mails the people it concerns.")
    payload_schema: dict[str, Any] = Field(description="The JSON schema of the event's `data` (its payload).")


class EventTypeList(OutputModel):
    items: list[EventTypeOut]


@functools.cache
def _body() -> dict[str, Any]:
    """The catalogue, fixed while the process runs: built on the first request rather than at
    import (its payload schemas took a tenth of the API's start-up)."""
    return {"items": describe()}


@router.get("", responses={200: {"model": EventTypeList, "description": "Every event type, by domain."}})
async def list_event_types() -> Response:
    """Every event type the registry records: what webhook endpoints may subscribe to (exactly,
    or by family: `meeting.*`) and the change feed's `type` filter takes, with each payload's
    schema. The OpenAPI document's `webhooks` show each type's delivery."""
    return json_response(_body())
