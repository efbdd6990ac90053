"""Shared Pydantic building blocks for request and response bodies, and the registry's one
text policy (docs/API.md, "Text"): every stored string is single-line or multi-line text."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, SchemaValidator, core_schema

# The deepest nesting of arrays and objects a request body may have (docs/API.md, "Limits").
MAX_JSON_DEPTH = 32

# Control characters: C0 (U+0000-U+001F, with TAB, LF and CR), DEL, C1 (U+0080-U+009F, with
# NEL) and the Unicode line and paragraph separators. Single-line text holds none of them;
# multi-line text holds line breaks and tabs only, its line breaks stored as LF.
SINGLE_LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$"
MULTI_LINE_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u0084\u0086-\u009f]*$"
_NOT_SINGLE_LINE = re.compile(r"[\u0000-\u001f\u007f-\u009f\u2028\u2029]")
_NOT_MULTI_LINE = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u0084\u0086-\u009f]")
_LINE_BREAKS = re.compile(r"\r\n|[\r\u0085\u2028\u2029]")
# A character that is never part of a URL, an e-mail address or a code: for such patterns.
VISIBLE = r"[^\s\u0000-\u001f\u007f-\u009f]"
_CHARACTER_NAMES = {
    "\x00": "NUL",
    "\t": "a tab",
    "\n": "a line feed",
    "\r": "a carriage return",
    "\x7f": "DEL",
    "\x85": "a next-line character",
    "\u2028": "a line separator",
    "\u2029": "a paragraph separator",
}

NUL_MESSAGE = "must not contain the NUL character (U+0000), which the registry cannot store"


@dataclass(frozen=True)
class Form:
    """Annotated metadata: the form a string must take, once as the regular expression the
    document declares (``pattern``) and once in words for the person whose value does not
    fit (``expected``: "an e-mail address such as name@un.org"). Such a value is a 422 saying
    "Should be <expected>"; the expression itself never reaches a message. Checked by the
    same engine as a Pydantic ``pattern``, so the rule is the one the document states."""

    pattern: str
    expected: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        fits = SchemaValidator(core_schema.str_schema(pattern=self.pattern)).isinstance_python
        expected = self.expected

        def check(value: str) -> str:
            if not fits(value):
                raise PydanticCustomError("string_pattern_mismatch", "Should be {expected}", {"expected": expected})
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        return json_schema


# The forms more than one field or parameter takes. A query filter declares its form so that
# a client reads the rule in the document and gets a validation problem naming the
# parameter, never a query the database refuses.
ONE_LINE = Form(SINGLE_LINE_PATTERN, "a single line of text, without tabs, line breaks or other control characters")
RECORD_TYPE = Form(r"^[a-z_]+$", "a record type in lower-case letters and underscores, such as working_group")
EVENT_TYPE = Form(
    r"^(\*|[a-z_]+\.\*|[a-z_]+\.[a-z_]+)$",
    "an event type such as meeting.created, every event of a record type such as meeting.*, or * for all",
)
WEB_ADDRESS = Form(
    rf"^https?://{VISIBLE}+$", "a web address starting with https:// or http://, such as https://www.iom.int"
)
SECURE_WEB_ADDRESS = Form(rf"^https://{VISIBLE}+$", "a web address starting with https://, such as https://www.iom.int")


def control_character_problem(value: str, *, multi_line: bool) -> str | None:
    """What is wrong with ``value`` under the text policy, for a person; None when nothing is."""
    found = (_NOT_MULTI_LINE if multi_line else _NOT_SINGLE_LINE).search(value)
    if found is None:
        return None
    character = found.group()
    name = _CHARACTER_NAMES.get(character, "a control character")
    rule = (
        "text here may hold line breaks and tabs but no other control character"
        if multi_line
        else "this is a single line of text, without line breaks, tabs or other control characters"
    )
    return f"contains {name} (U+{ord(character):04X}) at position {found.start()}: {rule}"


def single_line(value: str) -> str:
    """``value`` made single-line text, for an output that needs one whatever was stored:
    each control character (line breaks included) becomes a space."""
    return _NOT_SINGLE_LINE.sub(" ", value)


def multi_line(value: str) -> str:
    """``value`` made multi-line text, for an output whatever was stored: line breaks become
    LF, any other control character but a tab becomes a space."""
    return _NOT_MULTI_LINE.sub(" ", _LINE_BREAKS.sub("\n", value))


@dataclass(frozen=True)
class TextPolicy:
    """Annotated metadata: the text policy of a string field, enforced with a message naming
    the field and declared in the document as a ``pattern`` (put it last in ``Annotated``)."""

    multi_line: bool

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.with_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", MULTI_LINE_PATTERN if self.multi_line else SINGLE_LINE_PATTERN)
        return json_schema

    def _check(self, value: str, info: ValidationInfo) -> str:
        problem = control_character_problem(value, multi_line=self.multi_line)
        if problem is not None:
            raise ValueError(f"{info.field_name or 'this text'} {problem}")
        return _LINE_BREAKS.sub("\n", value) if self.multi_line else value


SINGLE_LINE = TextPolicy(multi_line=False)
MULTI_LINE = TextPolicy(multi_line=True)

EventPattern = Annotated[str, StringConstraints(max_length=100), EVENT_TYPE, SINGLE_LINE]
RecordType = Annotated[str, RECORD_TYPE]
OneLine = Annotated[str, ONE_LINE]

# Fields the service sets itself; a client that sends one gets a 422 naming it.
READ_ONLY_FIELDS = frozenset({"id", "created_at", "updated_at", "version", "is_demo", "un_system", "status"})


class InputModel(BaseModel):
    """A request body: unknown fields and read-only fields are rejected, never ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Extra read-only fields of this body, beyond the common ones.
    read_only: ClassVar[frozenset[str]] = frozenset()
    # Fields that exist on the resource but change through an action, with a hint.
    changed_by_action: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _reject_server_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for field in data:
                if field in cls.changed_by_action:
                    raise ValueError(f"'{field}' cannot be set here: {cls.changed_by_action[field]}")
                if (field in READ_ONLY_FIELDS or field in cls.read_only) and field not in cls.model_fields:
                    raise ValueError(f"'{field}' is read-only; the registry sets it")
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        if _contains_nul(value):
            raise ValueError(NUL_MESSAGE)
        return value


def _contains_nul(value: Any) -> bool:
    """PostgreSQL text cannot hold U+0000; find it anywhere in a JSON value, however deep
    (walked with a stack, not recursion: depth is the body's concern, not this check's)."""
    pending = [value]
    while pending:
        current = pending.pop()
        if isinstance(current, str):
            if "\x00" in current:
                return True
        elif isinstance(current, list):
            pending.extend(current)
        elif isinstance(current, dict):
            pending.extend(current.keys())
            pending.extend(current.values())
    return False


class OutputModel(BaseModel):
    """A response body, documented in OpenAPI."""

    model_config = ConfigDict(from_attributes=True)


# Translations of a record's names and descriptions (decision 0025): the record's own fields
# are the English original; ``translations`` holds, for each other official language, the
# fields translated, each under the same text policy and bounds as the field itself.
OtherLanguage = Literal["ar", "zh", "fr", "ru", "es"]
TRANSLATIONS_DESCRIPTION = (
    "The record's names and descriptions in the other official languages of the United Nations "
    "(ar, zh, fr, ru, es; English is the record's own fields), e.g. "
    '`{"fr": {"name": "..."}}`. Each value follows the rules of the field it translates. Reads '
    "answer in the language `Accept-Language` prefers, field by field, falling back to English; "
    "this map is always returned as stored. On update, it replaces the whole map (send `{}` to remove every "
    "translation)."
)


def stored_translations(value: Mapping[OtherLanguage, BaseModel] | None) -> dict[str, dict[str, str]]:
    """A ``translations`` map as stored: the fields given in each language, languages without
    any left out."""
    return {
        language: texts
        for language, given in sorted((value or {}).items())
        if (texts := given.model_dump(exclude_none=True))
    }
