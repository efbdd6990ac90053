"""Identifier schemes of entities, each checked by its own format.

- ``iati``: an IATI organisation identifier, the registration agency's prefix (a country code,
  or XM for multilateral and XI for IATI's own agencies, a hyphen and the agency's code:
  ``GB-COH``, ``XM-DAC``) then a hyphen and the identifier that agency gave. Multilaterals are
  ``XM-DAC-`` and their five-digit OECD DAC channel code (UNHCR: ``XM-DAC-41121``).
  Source: IATI Standard 2.03, "Organisation identifiers" and the Organisation Registration
  Agency codelist (https://iatistandard.org/en/guidance/preparing-organisation/organisation-account/how-to-create-your-iati-organisation-identifier/).
- ``ror``: a Research Organization Registry id, ``0`` then six characters and two check digits.
- ``wikidata``: a Wikidata item, ``Q`` and a number.
"""

import re
from collections.abc import Callable

from services.reference.countries import countries

_IATI = re.compile(r"^(?P<country>[A-Z]{2})-(?P<agency>[A-Z0-9]{2,10})-(?P<identifier>[A-Za-z0-9._-]+)$")
_DAC_CHANNEL = re.compile(r"^[0-9]{5}$")
_ROR = re.compile(r"^0[a-hj-km-np-tv-z0-9]{6}[0-9]{2}$")
_WIKIDATA = re.compile(r"^Q[1-9][0-9]*$")
# Registration-agency prefixes that are not a country's: multilateral (XM) and international (XI).
_INTERNATIONAL = {"XM", "XI"}

IATI_HELP = (
    "an IATI organisation identifier is the registration agency's prefix (e.g. XM-DAC for multilaterals, "
    "GB-COH for UK companies), a hyphen, then the identifier that agency gave: e.g. XM-DAC-41121 (UNHCR)"
)


def _iati_problem(value: str) -> str | None:
    match = _IATI.match(value)
    if match is None:
        return f"{value!r} is not an IATI organisation identifier: {IATI_HELP}."
    prefix = match["country"]
    if prefix not in _INTERNATIONAL and prefix not in countries():
        return f"{value!r} starts with {prefix}, which is neither a country code nor XM/XI: {IATI_HELP}."
    if f"{prefix}-{match['agency']}" == "XM-DAC" and not _DAC_CHANNEL.match(match["identifier"]):
        return (
            f"{value!r}: after XM-DAC- comes the organisation's five-digit OECD DAC channel code, "
            "e.g. XM-DAC-47066 (IOM), XM-DAC-41114 (UNDP)."
        )
    return None


def _pattern_problem(pattern: re.Pattern[str], what: str) -> Callable[[str], str | None]:
    def problem(value: str) -> str | None:
        return None if pattern.match(value) else f"{value!r} is not {what}."

    return problem


SCHEMES: dict[str, Callable[[str], str | None]] = {
    "iati": _iati_problem,
    "ror": _pattern_problem(_ROR, "a ROR id: 0, six letters or digits and two check digits, e.g. 03m2x1q45"),
    "wikidata": _pattern_problem(_WIKIDATA, "a Wikidata item: Q and a number, e.g. Q3358"),
}


def identifier_problem(scheme: str, value: str) -> str | None:
    """Why ``value`` is not an identifier of ``scheme``, in words; None if it is one."""
    check = SCHEMES.get(scheme)
    if check is None:
        return f"{scheme!r} is not an identifier scheme of the registry; it knows {', '.join(sorted(SCHEMES))}."
    return check(value)
