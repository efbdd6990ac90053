"""The reference lists as the API shows them. They are read from code, not from rows, so these
models document the bodies without select lists (services.shapes)."""

from typing import Literal

from pydantic import Field

from services.schemas import OutputModel

Language = Literal["ar", "zh", "en", "fr", "ru", "es"]


class CountryOut(OutputModel):
    code: str = Field(description="ISO 3166-1 alpha-2, or XK for Kosovo (a UN-designated area, not in ISO 3166-1).")
    m49: str | None = Field(description="The UN M49 numeric code (for a country, its ISO 3166-1 numeric code).")
    name: str = Field(description="The ISO 3166-1 short name, in the language asked for (iso-codes' translation).")
    in_iso_3166_1: bool
    designation_footnote: str | None = Field(
        description="The footnote the United Nations attaches to the area's name; outputs naming it carry it."
    )


class CountryList(OutputModel):
    language: Language
    items: list[CountryOut]


class RegionOut(OutputModel):
    code: str = Field(description="The commission: ECA, ECE, ECLAC, ESCAP or ESCWA; a regional network's `region`.")
    name: str
    countries: list[str] = Field(
        description="The countries its region covers: regional members, associate members and designated areas."
    )
    non_regional_members: list[str] = Field(description="Members from outside the region, which it does not cover.")
    source_url: str = Field(description="Where the commission publishes its member list.")
    verified: str = Field(description="When the list was last checked against that page (`no`: not yet).")


class RegionList(OutputModel):
    items: list[RegionOut]


class SdgTargetOut(OutputModel):
    number: str = Field(description="`goal.target`: 1.1 … 17.19, lettered for means of implementation (10.c).")
    goal: int
    goal_title: str


class SdgTargetList(OutputModel):
    items: list[SdgTargetOut]
