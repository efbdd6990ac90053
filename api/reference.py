"""Reference lists the registry checks records against: countries, the UN regional
commissions and the SDG targets (services/reference, docs/REFERENCE_DATA.md)."""

from typing import Annotated

from fastapi import Query, Response

from api.deps import Authenticated
from api.dispatch import PathRouter
from api.openapi import problems
from api.planned import PlannedRoute
from api.responses import json_response
from services.reference.countries import country_list
from services.reference.regions import region_list
from services.reference.schemas import CountryList, Language, RegionList, SdgTargetList
from services.reference.sdg import target_list

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1",
    tags=["reference data"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)


@router.get(
    "/countries",
    responses={200: {"model": CountryList, "description": "Every code a country_code may take."}, **problems(422)},
)
async def list_countries(
    lang: Annotated[Language, Query(description="The language of the names: one of the six UN languages.")] = "en",
) -> Response:
    """The countries of ISO 3166-1 with their M49 codes and names, and the UN-designated areas
    the registry also accepts (Kosovo, XK), each with its designation footnote."""
    return json_response({"language": lang, "items": country_list(lang)})


@router.get("/regions", responses={200: {"model": RegionList, "description": "The five regional commissions."}})
async def list_regions() -> Response:
    """The UN regional commissions a regional network's `region` names, each with the countries
    its region covers: a country network under a regional network is for one of them."""
    return json_response({"items": region_list()})


@router.get("/sdg-targets", responses={200: {"model": SdgTargetList, "description": "The 169 targets."}})
async def list_sdg_targets() -> Response:
    """The 169 targets of the Sustainable Development Goals, by number, with their goal."""
    return json_response({"items": target_list()})
