"""Who is making a request or a change, and in which role."""

import enum
import uuid
from dataclasses import dataclass


class Role(enum.StrEnum):
    ADMIN = "admin"  # the secretariat: everything
    FOCAL_POINT = "focal_point"  # bound to one entity: its own profile, statements and seats
    INTEGRATOR = "integrator"  # another UN system: reads, its own webhook endpoints
    READER = "reader"
    SYSTEM = "system"  # the service itself (seed data, scheduled work)
    # One invitee of one meeting, through its invitation's signed link: it may see that
    # meeting and answer for itself, nothing else. No API key ever holds this role.
    INVITEE = "invitee"


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``id`` is stable and safe to log (never a secret)."""

    id: str
    role: Role
    entity_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None  # the person a focal point's key is issued to, if named

    @property
    def is_admin(self) -> bool:
        return self.role in (Role.ADMIN, Role.SYSTEM)


SYSTEM = Principal(id="system", role=Role.SYSTEM)
# The demo data set's loader: its events are the demo's history, not the network's activity
# (the activity report leaves them out).
SYSTEM_DEMO = Principal(id="system:demo", role=Role.SYSTEM)
# `registry import` run by an operator without an API key: the audit trail names it.
SYSTEM_IMPORT = Principal(id="system:import", role=Role.SYSTEM)
