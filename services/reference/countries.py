"""Countries: ISO 3166-1 alpha-2 codes with their M49 numbers and names in the six official UN
languages, from pycountry (Debian's iso-codes and its translations), plus the areas the UN
names with a designation footnote (``data/designated_areas.toml``)."""

import gettext
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import pycountry

# The six official languages of the United Nations, and the gettext locale of each.
LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")
_LOCALES = {"ar": "ar", "zh": "zh_CN", "fr": "fr", "ru": "ru", "es": "es"}
# ISO 3166-1 leaves these to its users; none is a country.
_USER_ASSIGNED = {"AA", "ZZ"} | {f"Q{c}" for c in "MNOPQRSTUVWXYZ"} | {f"X{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


@dataclass(frozen=True)
class Country:
    code: str  # ISO 3166-1 alpha-2 (or a user-assigned code for a designated area)
    m49: str | None  # UN M49 numeric code (for a country, ISO 3166-1 numeric is the same)
    names: dict[str, str]  # by language, one of LANGUAGES
    footnote: str | None  # the UN designation footnote, for a designated area
    within_commission: str | None = None  # a designated area: the commission whose region holds it

    @property
    def in_iso_3166_1(self) -> bool:
        return self.footnote is None


def _read_data(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("services.reference").joinpath("data", name).read_text("utf-8"))


def _translations() -> dict[str, gettext.NullTranslations]:
    found: dict[str, gettext.NullTranslations] = {"en": gettext.NullTranslations()}
    for language, locale in _LOCALES.items():
        found[language] = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[locale], fallback=True)
    return found


@cache
def countries() -> dict[str, Country]:
    """Every code the registry accepts for a country, in code order."""
    translations = _translations()
    found = {
        c.alpha_2: Country(
            code=c.alpha_2,
            m49=c.numeric,
            names={language: translations[language].gettext(c.name) for language in LANGUAGES},
            footnote=None,
        )
        for c in pycountry.countries
    }
    for code, area in _read_data("designated_areas.toml")["areas"].items():
        found[code] = Country(
            code=code,
            m49=area["m49"] or None,
            names={language: area["names"][language] for language in LANGUAGES},
            footnote=area["footnote"],
            within_commission=area["within_commission"],
        )
    return dict(sorted(found.items()))


def country_label(code: str) -> str:
    """``FR (France)``: a code and its English name, for messages."""
    country = countries().get(code)
    return f"{code} ({country.names['en']})" if country else code


def _one_letter_away(code: str) -> list[str]:
    same_first = [c for c in countries() if c[0] == code[0] and c != code]
    same_second = [c for c in countries() if c[1] == code[1] and c != code]
    return (same_first + same_second)[:3]


def _either(options: list[str]) -> str:
    labels = [country_label(option) for option in options]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def country_code_problem(value: str) -> str | None:
    """Why ``value`` is not a country code the registry accepts, in words; None if it is one."""
    if value in countries():
        return None
    if value.upper() in countries():
        return f"Country codes are written in capital letters: write {country_label(value.upper())}, not {value!r}."
    if len(value) != 2 or not value.isalpha():
        try:
            match = pycountry.countries.lookup(value)
        except LookupError:
            return f"{value!r} is not an ISO 3166-1 country code: give the two capital letters, e.g. FR or KE."
        return f"{value!r} is not a two-letter ISO 3166-1 country code; did you mean {country_label(match.alpha_2)}?"
    code = value.upper()
    withdrawn = pycountry.historic_countries.get(alpha_2=code)
    if withdrawn is not None:
        return (
            f"{code} ({withdrawn.name}) was withdrawn from ISO 3166-1 on {withdrawn.withdrawal_date}; "
            "give the code of the country as it is today (GET /v1/countries lists them)."
        )
    why = "ISO 3166-1 leaves it to private use" if code in _USER_ASSIGNED else "no country has it"
    return (
        f"{code} is not an ISO 3166-1 country code ({why}); did you mean {_either(_one_letter_away(code))}? "
        "GET /v1/countries lists every code."
    )


def check_country_code(value: str) -> str:
    """``value`` if it is a country code the registry accepts; else ValueError saying why."""
    problem = country_code_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def designation_footnotes(codes: Iterable[str | None]) -> list[str]:
    """The UN designation footnotes that outputs naming these countries must carry, once each,
    in the order first met (none for a country of ISO 3166-1)."""
    notes: list[str] = []
    for code in codes:
        country = countries().get(code) if code else None
        if country is not None and country.footnote and country.footnote not in notes:
            notes.append(country.footnote)
    return notes


def country_list(language: str) -> list[dict[str, Any]]:
    """Every accepted code with its M49 number and its name in ``language``, for GET /v1/countries."""
    return [
        {
            "code": c.code,
            "m49": c.m49,
            "name": c.names[language],
            "in_iso_3166_1": c.in_iso_3166_1,
            "designation_footnote": c.footnote,
        }
        for c in countries().values()
    ]
