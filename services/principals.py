"""Who is making a change. Authentication (API keys, JWT) fills this in at the edge."""

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    id: str
    role: str
    entity_id: uuid.UUID | None = None


SYSTEM = Principal(id="system", role="system")
ANONYMOUS = Principal(id="anonymous", role="anonymous")
