"""Shared Pydantic building blocks for request and response bodies."""

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator, model_validator

# Patterns the query filters declare, so that a client reads the rule in the document and gets a
# validation problem naming the parameter, never a query the database refuses.
RECORD_TYPE_PATTERN = r"^[a-z_]+$"  # a record's type as events and the audit log name it: `working_group`
EVENT_TYPE_PATTERN = r"^(\*|[a-z_]+\.\*|[a-z_]+\.[a-z_]+)$"  # `meeting.created`, `meeting.*` or `*`
NO_NUL_PATTERN = r"^[^\x00]*$"  # free text: anything PostgreSQL's text can hold
NUL_MESSAGE = "must not contain the NUL character (U+0000), which the registry cannot store"

EventPattern = Annotated[str, StringConstraints(pattern=EVENT_TYPE_PATTERN)]

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
    """PostgreSQL text cannot hold U+0000; find it anywhere in a JSON value."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_contains_nul(key) or _contains_nul(item) for key, item in value.items())
    return False


class OutputModel(BaseModel):
    """A response body, documented in OpenAPI."""

    model_config = ConfigDict(from_attributes=True)
