"""The UN regional commissions, each as the set of countries its region covers
(``data/regional_commissions.toml``, which names each list's source)."""

import enum
from dataclasses import dataclass
from functools import cache
from typing import Any

from services.reference.countries import _read_data, countries, country_label


class RegionalCommission(enum.StrEnum):
    ECA = "ECA"
    ECE = "ECE"
    ECLAC = "ECLAC"
    ESCAP = "ESCAP"
    ESCWA = "ESCWA"


@dataclass(frozen=True)
class Commission:
    code: RegionalCommission
    name: str
    source_url: str
    verified: str
    members: frozenset[str]
    non_regional: frozenset[str]
    associate_members: frozenset[str]

    @property
    def region(self) -> frozenset[str]:
        """The countries a regional network of this commission covers: its regional member
        States, its associate members and the designated areas within its region."""
        areas = {c.code for c in countries().values() if c.within_commission == self.code.value}
        return (self.members - self.non_regional) | self.associate_members | areas


@cache
def commissions() -> dict[RegionalCommission, Commission]:
    data = _read_data("regional_commissions.toml")["commissions"]
    return {
        code: Commission(
            code=code,
            name=data[code.value]["name"],
            source_url=data[code.value]["url"],
            verified=data[code.value]["verified"],
            members=frozenset(data[code.value]["members"]),
            non_regional=frozenset(data[code.value]["non_regional"]),
            associate_members=frozenset(data[code.value]["associate_members"]),
        )
        for code in RegionalCommission
    }


# Spellings people use for a commission's region, lower-cased, for a suggestion.
KNOWN_SPELLINGS = {
    "africa": "ECA",
    "europe": "ECE",
    "europe and central asia": "ECE",
    "europe and north america": "ECE",
    "latin america and the caribbean": "ECLAC",
    "latin america": "ECLAC",
    "the americas": "ECLAC",
    "americas": "ECLAC",
    "caribbean": "ECLAC",
    "asia and the pacific": "ESCAP",
    "asia-pacific": "ESCAP",
    "asia pacific": "ESCAP",
    "asia": "ESCAP",
    "pacific": "ESCAP",
    "arab states": "ESCWA",
    "arab region": "ESCWA",
    "middle east and north africa": "ESCWA",
    "mena": "ESCWA",
    "western asia": "ESCWA",
}


def commission_list_text() -> str:
    return ", ".join(f"{c.code.value} ({c.name})" for c in commissions().values())


def region_problem(value: Any) -> str | None:
    """Why ``value`` is not a region, in words (naming the valid ones); None if it is one."""
    if isinstance(value, str) and value in RegionalCommission.__members__:
        return None
    hint = ""
    if isinstance(value, str):
        guess = value.upper() if value.upper() in RegionalCommission.__members__ else None
        guess = guess or KNOWN_SPELLINGS.get(" ".join(value.lower().replace("&", "and").split()))
        hint = f" For {value!r}, use {guess}." if guess else ""
    return f"{value!r} is not a UN regional commission. A region is one of {commission_list_text()}.{hint}"


def country_outside_region(commission: RegionalCommission, country_code: str) -> str | None:
    """Why a country network for ``country_code`` cannot sit in ``commission``'s region; None if it can."""
    found = commissions()[commission]
    if country_code in found.region:
        return None
    if country_code in found.non_regional:
        why = f"is a member of {commission.value} from outside its region"
    else:
        why = f"is not in the region of {commission.value} ({found.name})"
    return (
        f"{country_label(country_code)} {why}; a country network under the {commission.value} regional network is for one "
        f"of its {len(found.region)} regional members, associate members and areas (GET /v1/regions lists them)."
    )


def region_list() -> list[dict[str, Any]]:
    """Each commission with the countries of its region, for GET /v1/regions."""
    return [
        {
            "code": c.code.value,
            "name": c.name,
            "countries": sorted(c.region),
            "non_regional_members": sorted(c.non_regional),
            "source_url": c.source_url,
            "verified": c.verified,
        }
        for c in commissions().values()
    ]
