import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from services.dates import RegistryDateTime
from services.schemas import InputModel, OutputModel

KeyRole = Literal["admin", "focal_point", "integrator", "reader"]


class ApiKeyCreate(InputModel):
    read_only = frozenset({"prefix", "key", "key_hash", "created_by", "revoked_at", "revoked_by", "last_used_at"})

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="What the key is for, e.g. 'UNHCR focal point' or 'UNSDG data portal sync'."
    )
    role: KeyRole
    entity_id: uuid.UUID | None = Field(None, description="Required for a focal point: the entity it acts for.")
    expires_at: RegistryDateTime | None = Field(None, description="Default: a year from now; at most two years.")


class ApiKeyOut(OutputModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart; not a secret.")
    role: KeyRole
    entity_id: uuid.UUID | None
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. Shown this once; only its hash is kept.")
