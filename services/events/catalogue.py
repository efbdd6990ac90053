"""The catalogue of event types: every type the registry appends, with what it means, its
payload's schema, who may see it, how reports label it and whether it is mailed.

Everything that reads event types reads them here: appending (an unknown type is refused),
webhook endpoints' filters and the change feed's ``type`` filter (an unknown one is a 422
naming the nearest), the relay's fan-out, the mail composer, visibility, the report's labels,
``GET /v1/event-types`` and the OpenAPI document's ``webhooks``. The entries are declared per
domain in services.events.types; this module imports no domain package."""

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from services.errors import InvalidInput
from services.events.types import (
    access,
    commitments,
    entities,
    meetings,
    memberships,
    mous,
    networks,
    people,
    reviews,
    working_groups,
    workplans,
)
from services.events.types.common import EventType, Mail, OwnedBy, Visibility

__all__ = [
    "CATALOGUE",
    "EventType",
    "Mail",
    "OwnedBy",
    "Visibility",
    "check_patterns",
    "describe",
    "entry",
    "is_mailed",
    "label_for",
    "mailed",
    "matching",
    "private_types",
    "require_known",
]

_DOMAINS = (
    entities,
    networks,
    memberships,
    working_groups,
    mous,
    meetings,
    reviews,
    workplans,
    commitments,
    people,
    access,
)

CATALOGUE: dict[str, EventType] = {t.name: t for domain in _DOMAINS for t in domain.TYPES}
assert len(CATALOGUE) == sum(len(d.TYPES) for d in _DOMAINS), "an event type is declared twice"

_NAME = re.compile(r"^[a-z_]+\.[a-z_]+$")
assert all(_NAME.match(name) for name in CATALOGUE), "event types are `<subject type>.<what happened>`"


def entry(name: str) -> EventType | None:
    """The catalogue's entry for ``name``; ``None`` for a type it does not list."""
    return CATALOGUE.get(name)


def require_known(name: str) -> EventType:
    """The entry for a type about to be appended. Raises ``ValueError`` for a type the
    catalogue does not list: a programming error (declare it in services.events.types)."""
    found = CATALOGUE.get(name)
    if found is None:
        raise ValueError(f"event type {name!r} is not in the catalogue (services.events.types)")
    return found


def matching(pattern: str) -> list[str]:
    """The types a filter pattern matches: exact (``membership.created``), a family
    (``membership.*``) or ``*``; in catalogue order."""
    if pattern == "*":
        return list(CATALOGUE)
    if pattern.endswith(".*"):
        return [name for name in CATALOGUE if name.startswith(pattern[:-1])]
    return [pattern] if pattern in CATALOGUE else []


def _suggestions(pattern: str) -> list[str]:
    """The nearest types (or families, for a family pattern) to a pattern that matches none."""
    if pattern.endswith(".*"):
        families = sorted({f"{t.domain}.*" for t in CATALOGUE.values()})
        return difflib.get_close_matches(pattern, families, n=3)
    return difflib.get_close_matches(pattern, list(CATALOGUE), n=3)


def check_patterns(patterns: Sequence[str], *, location: str) -> None:
    """Refuse filter patterns that match no catalogued type: a 422 ``unknown-event-type``
    whose message names the nearest types, with one error per pattern. ``location`` is where
    the patterns are: ``body.event_types`` (a JSON pointer is added) or ``query.type``."""
    unknown = [(i, p) for i, p in enumerate(patterns) if not matching(p)]
    if not unknown:
        return
    messages = [_message(p) for _, p in unknown]
    where, _, name = location.partition(".")
    errors: list[dict[str, Any]] = []
    for (index, _), message in zip(unknown, messages, strict=True):
        error: dict[str, Any] = {"detail": message, "location": f"{location}.{index}", "type": "unknown-event-type"}
        if where == "body":
            error["pointer"] = f"#/{name}/{index}"
        else:
            error["parameter"] = name
        errors.append(error)
    raise InvalidInput(
        "unknown-event-type",
        " ".join(messages) + " GET /v1/event-types lists every type.",
        errors=errors,
    )


def _message(pattern: str) -> str:
    near = _suggestions(pattern)
    what = "No event type matches" if pattern.endswith(".*") else "There is no event type"
    if not near:
        return f"{what} {pattern!r}."
    others = f" (or {', '.join(near[1:])})" if len(near) > 1 else ""
    return f"{what} {pattern!r}; did you mean {near[0]}?{others}"


def describe() -> list[dict[str, Any]]:
    """The catalogue for integrators (GET /v1/event-types): each type's name, description,
    label, visibility, whether it is mailed, and its payload's JSON schema."""
    return [
        {
            "name": t.name,
            "description": t.description,
            "label": t.label,
            "visibility": t.visibility.value,
            "mailed": t.mail is not None,
            "payload_schema": t.payload.model_json_schema(),
        }
        for t in CATALOGUE.values()
    ]


def label_for(name: str) -> str:
    """How a report names a type; a type the catalogue no longer lists reads as its name."""
    found = CATALOGUE.get(name)
    return found.label if found is not None else name


def private_types() -> dict[OwnedBy, list[str]]:
    """The types only admins and their owner may see, by where the payload names the owner."""
    out: dict[OwnedBy, list[str]] = {}
    for t in CATALOGUE.values():
        if t.visibility is Visibility.ADMIN_AND_OWNER:
            assert t.owned_by is not None, f"{t.name} is private: say where its payload names the owner"
            out.setdefault(t.owned_by, []).append(t.name)
    return out


def mailed() -> Iterable[EventType]:
    """The types that are mailed."""
    return (t for t in CATALOGUE.values() if t.mail is not None)


def is_mailed(name: str) -> bool:
    """Whether events of this type may be mailed (services.mail.compose decides to whom)."""
    found = CATALOGUE.get(name)
    return found is not None and found.mail is not None
