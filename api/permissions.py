"""Who may make a write, declared once, beside its route: ``@Access(...)`` right under the
route's decorator. The access gate (``api.access``) enforces it before the body is read, the
OpenAPI document documents its refusals, and the access-matrix tests read it from there.

A declaration names the roles that may make the write besides the secretariat (admin), and,
for records that belong to someone, which record decides whether the caller is its owner.
Whether a focal point may act on a *particular* record is also checked by the service (it
holds the record, and sometimes needs the body); the access matrix proves both agree.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from services.principals import Principal, Role

FOCAL_POINT = frozenset({Role.FOCAL_POINT})
INTEGRATOR = frozenset({Role.INTEGRATOR})
EVERYONE = frozenset({Role.FOCAL_POINT, Role.INTEGRATOR, Role.READER})  # every authenticated caller

# The entities whose focal points may act on a record, given the ids the path names.
OwnersLookup = Callable[[AsyncConnection, dict[str, uuid.UUID]], Awaitable[set[Any]]]
# The record ``id`` as ``principal`` may see it, or None.
Visible = Callable[[AsyncConnection, uuid.UUID, Principal], Awaitable[dict[str, Any] | None]]

NOT_YOUR_ENTITY = (
    "not-your-entity",
    "You may not do this: only the secretariat (admin role) or the focal point of the entity that owns the record may.",
)


@dataclass(frozen=True)
class PathOwners:
    """The record the path names decides: a focal point of another entity than ``lookup``
    returns is refused (403, ``refusal``: problem kind and detail) before the body is read."""

    lookup: OwnersLookup
    refusal: tuple[str, str] = NOT_YOUR_ENTITY


@dataclass(frozen=True)
class BodyOwner:
    """The entity the body's ``field`` names decides; the service checks it, after validation."""

    field: str


@dataclass(frozen=True)
class HiddenRecord:
    """A record only its owners may see (``visible`` returns None for anyone else): acting on
    another's is 404 (problem ``kind``; ``detail`` formats ``{id}``), as reading it is."""

    parameter: str  # the path parameter naming it
    visible: Visible
    kind: str
    detail: str


@dataclass(frozen=True)
class Capability:
    """The route is opened by a signed link, not by a key: the token in path parameter
    ``parameter`` is the credential (an Authorization header is not read). ``open`` checks the
    token and what it names (raising the refusal: 403 for a link not made by the registry or
    altered, 410 for one expired or withdrawn) and returns who acts through it, for the audit
    trail; ``refusal`` renders a refusal for the person holding the link (an HTML page)."""

    parameter: str
    open: Callable[[AsyncConnection, str], Awaitable[Principal]]
    refusal: Callable[[Any], Any]  # DomainError -> a Starlette Response

    # Who may follow such a link: whoever holds it. The access matrix expects every caller,
    # with a key or without, to succeed with a genuine link, and none with an altered one.
    problem_statuses: frozenset[int] = frozenset({403, 409, 410})


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
_ATTRIBUTE = "__access__"


@dataclass(frozen=True, kw_only=True)
class Access:
    """Who may make the write route it decorates (under ``@router.post(...)``).

    ``roles``: the roles that may make it besides the secretariat (admin); others get 403
    from the access gate. ``owners``: for a focal point, whose record it must be (another
    entity's focal point gets 403); without it a role acts on records it makes itself (a
    calendar subscription, a webhook endpoint). ``hidden``: the record the path names is
    visible to its owners only; anyone else gets 404. ``capability``: no key at all, the
    route's signed link is the credential (``Capability``); ``roles`` and ``owners`` are then
    empty. The lookups routes name live in ``api.path_records``; a write declaring nothing is
    the secretariat's alone.
    """

    roles: frozenset[Role] = frozenset()
    owners: PathOwners | BodyOwner | None = None
    hidden: HiddenRecord | None = None
    capability: Capability | None = None

    def __post_init__(self) -> None:
        if self.capability is not None and (self.roles or self.owners or self.hidden):
            raise ValueError("a capability route is opened by its link alone: declare no roles, owners or hidden")

    def __call__(self, endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _ATTRIBUTE, self)
        return endpoint

    @property
    def problem_statuses(self) -> frozenset[int]:
        """The refusals the OpenAPI document lists for the route. Every write documents 403
        (a role not named, another entity's record); a hidden record also 404; a capability
        route its link's refusals."""
        if self.capability is not None:
            return self.capability.problem_statuses
        return frozenset({403, 404}) if self.hidden is not None else frozenset({403})


SECRETARIAT_ONLY = Access()


def declared_access(endpoint: Callable[..., Any] | None) -> Access | None:
    """The declaration on a route's endpoint, or None when it has none."""
    return getattr(endpoint, _ATTRIBUTE, None)


WHO = {
    Role.FOCAL_POINT: "the focal point of the entity concerned",
    Role.INTEGRATOR: "integrators (for their own systems)",
    Role.READER: "readers (for themselves)",
}


def who_may(roles: frozenset[Role]) -> str:
    """The callers ``roles`` allow, for a person: the secretariat first."""
    others = [WHO[role] for role in sorted(roles) if role in WHO]
    return " or ".join(["the secretariat (admin role)", *others])
