from fastapi import Response

from api.deps import Authenticated, DbRead
from api.dispatch import PathRouter
from api.documents import ObjectiveList, PrincipleList, documented
from api.openapi import problems
from api.planned import PlannedRoute
from api.responses import json_response
from services.gcm import service
from services.gcm.data import MISSING_LANGUAGES, TEXT_LANGUAGES

# Whatever language was asked for, the texts are English: Content-Language says so.
_TEXTS = {"language": TEXT_LANGUAGES[0], "missing_languages": list(MISSING_LANGUAGES)}
_HEADERS = {"Content-Language": ", ".join(TEXT_LANGUAGES)}

router = PathRouter(
    route_class=PlannedRoute,
    prefix="/v1/gcm",
    tags=["reference data"],
    dependencies=[Authenticated],
    responses=problems(401, 429),
)


@router.get("/objectives", responses=documented(ObjectiveList, "The 23 objectives of the Global Compact."))
async def list_objectives(conn: DbRead) -> Response:
    """The 23 objectives of the Global Compact for Safe, Orderly and Regular Migration, in
    English: the registry holds no other official language of the text yet (`missing_languages`)."""
    return json_response({"items": await service.list_objectives(conn)} | _TEXTS, headers=_HEADERS)


@router.get("/principles", responses=documented(PrincipleList, "The Global Compact's guiding principles."))
async def list_principles(conn: DbRead) -> Response:
    """The Compact's 10 cross-cutting and interdependent guiding principles, in English (see
    `missing_languages`)."""
    return json_response({"items": await service.list_principles(conn)} | _TEXTS, headers=_HEADERS)
