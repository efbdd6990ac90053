import uuid
from typing import Annotated

from fastapi import Query, Response

from api.deps import Authenticated, DbRead
from api.dispatch import PathRouter
from api.documents import IndicatorsOut, documented
from api.openapi import problems
from api.planned import PlannedRoute
from api.responses import json_response
from services.clock import clock
from services.dates import RegistryDate
from services.indicators.repository import indicators

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/networks",
    tags=["indicators"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)


@router.get(
    "/{network_id}/indicators",
    responses={**documented(IndicatorsOut, "The indicators on `as_of`."), **problems(404, 422)},
)
async def get_indicators(
    network_id: uuid.UUID,
    conn: DbRead,
    as_of: Annotated[RegistryDate | None, Query(description="The day to compute them for (default: today).")] = None,
) -> Response:
    """How the configuration works, from the records as they stood on a date: membership by
    tier and its changes over the year before, working groups, MoUs, objectives uncovered or
    contested, the annual-meeting rule, and notifications."""
    return json_response(await indicators(conn, network_id, as_of=as_of or clock.today()))
