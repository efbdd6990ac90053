"""Request-body types checked against the reference lists: a wrong value is a 422 whose
message says, in words, what is wrong and what would do; the OpenAPI document lists the
valid values."""

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from services.reference.countries import check_country_code, countries
from services.reference.regions import RegionalCommission, region_problem
from services.reference.sdg import check_sdg_target, targets


def _check_region(value: Any) -> Any:
    problem = region_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


CountryCode = Annotated[
    str,
    AfterValidator(check_country_code),
    WithJsonSchema(
        {
            "type": "string",
            "enum": list(countries()),
            "description": "An ISO 3166-1 alpha-2 country code, or XK (Kosovo, a UN-designated area): GET /v1/countries.",
        }
    ),
]
Region = Annotated[RegionalCommission, BeforeValidator(_check_region)]
SdgTarget = Annotated[
    str,
    AfterValidator(check_sdg_target),
    WithJsonSchema({"type": "string", "enum": list(targets()), "description": "An SDG target: GET /v1/sdg-targets."}),
]
