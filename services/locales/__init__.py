"""The six official languages of the United Nations: which one a caller asked for, and how
to write to them in it. Message catalogues (gettext, compiled by Babel: ``messages.pot`` and
``<language>/LC_MESSAGES/messages.po`` and ``.mo`` beside this file) hold our own words;
dates and numbers follow the locale's conventions (Babel's CLDR data); Arabic is written
right to left.

English is the source language: a message a catalogue does not hold reads in English, so a
missing translation is never a missing word. How to extract and update the catalogues:
docs/OPERATIONS.md ("Languages")."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import date as Day  # "date" is also a method of Localizer
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

# ISO 639-1 codes, in the order the United Nations lists its official languages.
LANGUAGES: tuple[str, ...] = ("ar", "zh", "en", "fr", "ru", "es")
Language = Literal["ar", "zh", "en", "fr", "ru", "es"]
DEFAULT_LANGUAGE = "en"
RIGHT_TO_LEFT = frozenset({"ar"})
CATALOGUES = Path(__file__).resolve().parent
DOMAIN = "messages"

# The locale whose conventions dates and numbers follow: the Organization writes British English.
_FORMAT_LOCALE = {"en": "en_GB"}


def N_(message: str) -> str:
    """Marks a message for extraction (``make messages``) where it is defined; translated
    where it is shown, with the reader's ``Localizer``."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a message with a plural for extraction; ``Localizer.ngettext`` picks the form."""
    return singular, plural


def _weighted(accept_language: str) -> list[tuple[float, int, str]]:
    ranges: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:32]):  # a header is bounded; so is the work
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0  # a malformed weight is ignored with its range, not guessed
        if tag.strip() and 0 < weight <= 1:
            ranges.append((-weight, position, tag.strip().lower()))
    return sorted(ranges)


def negotiate(accept_language: str | None) -> str:
    """The official language the ``Accept-Language`` header prefers (RFC 9110: weights,
    then order), matched on the primary subtag (``fr-CH`` is French, ``zh-Hans-CN`` Chinese);
    English when it names none of the six or is absent."""
    for _, _, tag in _weighted(accept_language or ""):
        primary = tag.split("-", 1)[0]
        if primary in LANGUAGES:
            return primary
        if primary == "*":
            return DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def named(accept_language: str | None) -> str | None:
    """The official language ``Accept-Language`` names first (as ``negotiate``), or None when
    it names none of the six: a default may then be taken from elsewhere (a person's own)."""
    for _, _, tag in _weighted(accept_language or ""):
        primary = tag.split("-", 1)[0]
        if primary in LANGUAGES:
            return primary
    return None


def direction(language: str) -> Literal["rtl", "ltr"]:
    """``rtl`` for Arabic, ``ltr`` for the others."""
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"


Original = TypeVar("Original")


def translated(english: Original, translations: Any, field: str, language: str) -> tuple[Original | str, str]:
    """A record's ``field`` in ``language`` where its ``translations`` (as stored: language,
    then field, then text) hold it, else the English original; with the language it is in."""
    given = ((translations or {}).get(language) or {}).get(field) if language != DEFAULT_LANGUAGE else None
    return (given, language) if isinstance(given, str) and given else (english, DEFAULT_LANGUAGE)


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of ``language`` (English: none, the source messages are English)."""
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return NullTranslations()
    return Translations.load(str(CATALOGUES), [language], DOMAIN)


@dataclass(frozen=True)
class Localizer:
    """Everything that writes for one reader: their language's messages, dates and numbers."""

    language: str = DEFAULT_LANGUAGE
    _catalogue: NullTranslations = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"{self.language!r} is not one of the official languages {LANGUAGES}")
        object.__setattr__(self, "_catalogue", translations(self.language))

    @property
    def direction(self) -> Literal["rtl", "ltr"]:
        return direction(self.language)

    @property
    def _locale(self) -> Locale:
        return Locale.parse(_FORMAT_LOCALE.get(self.language, self.language))

    def gettext(self, message: str) -> str:
        return self._catalogue.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self._catalogue.ngettext(singular, plural, count)

    def translated(self, message: str) -> bool:
        """Whether the catalogue holds ``message`` (English holds every message)."""
        return self.language == DEFAULT_LANGUAGE or self._catalogue.gettext(message) != message

    def date(self, value: Day) -> str:
        """A day as the locale writes it in full (``7 March 2025``, ``7 mars 2025``, ``2025年3月7日``)."""
        return format_date(value, "long", locale=self._locale)

    def day(self, value: Day) -> str:
        """A day as the locale writes it in a table (``7 Mar 2025``, ``7 mars 2025``, ``07/03/2025``)."""
        return format_date(value, "medium", locale=self._locale)

    def weekday_date(self, value: Day) -> str:
        """A day with its weekday, as a letter writes it (``Tuesday 12 January 2027``,
        ``mardi 12 janvier 2027``, ``2027年1月12日星期二``, ``الثلاثاء، 12 يناير 2027``)."""
        if self.language == DEFAULT_LANGUAGE:
            return format_date(value, "EEEE d MMMM y", locale=self._locale)  # the Organization's, without a comma
        return format_date(value, "full", locale=self._locale)

    def clock_time(self, value: datetime) -> str:
        """A time of day on the 24-hour clock, as the locale writes it (``14:00``)."""
        return format_time(value, "HH:mm", locale=self._locale)

    def moment(self, value: datetime) -> str:
        """A time in UTC as the locale writes it, with its zone."""
        return format_datetime(value.astimezone(UTC), "long", tzinfo=UTC, locale=self._locale)

    def number(self, value: int | float) -> str:
        return format_decimal(value, locale=self._locale)


def localizer(language: str) -> Localizer:
    return _localizers(language)


def recipient_language(preferred: str | None, network: str | None) -> str:
    """The language to write to a recipient in: their own preferred language (a person of the
    registry), else the language of the network the message is about, else English. A value
    that is not one of the six is passed over."""
    for language in (preferred, network):
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


@lru_cache(maxsize=len(LANGUAGES))
def _localizers(language: str) -> Localizer:
    return Localizer(language)
