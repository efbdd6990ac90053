import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from services.api_keys.models import ApiKey
from services.dates import RegistryDateTime
from services.schemas import SINGLE_LINE, InputModel, OutputModel
from services.shapes import From

KeyRole = Literal["admin", "focal_point", "integrator", "reader"]


class ApiKeyCreate(InputModel):
    read_only = frozenset({"prefix", "key", "key_hash", "created_by", "revoked_at", "revoked_by", "last_used_at"})

    name: Annotated[str, StringConstraints(min_length=1, max_length=200), SINGLE_LINE] = Field(
        description="What the key is for, e.g. 'UNHCR focal point' or 'UNSDG data portal sync'."
    )
    role: KeyRole
    entity_id: uuid.UUID | None = Field(None, description="Required for a focal point: the entity it acts for.")
    person_id: uuid.UUID | None = Field(
        None,
        description="A focal point's key may be issued to a person of its entity (GET /v1/people): "
        "the audit trail then names the person who acted.",
    )
    expires_at: RegistryDateTime | None = Field(None, description="Default: a year from now; at most two years.")


class ApiKeyOut(OutputModel):
    id: Annotated[uuid.UUID, From(ApiKey.id)]
    name: Annotated[str, From(ApiKey.name)]
    prefix: Annotated[str, From(ApiKey.prefix)] = Field(
        description="The key's first characters, to tell keys apart; not a secret."
    )
    role: Annotated[KeyRole, From(ApiKey.role)]
    entity_id: Annotated[uuid.UUID | None, From(ApiKey.entity_id)]
    person_id: Annotated[uuid.UUID | None, From(ApiKey.person_id)]
    created_by: Annotated[str, From(ApiKey.created_by)]
    expires_at: Annotated[datetime, From(ApiKey.expires_at)]
    revoked_at: Annotated[datetime | None, From(ApiKey.revoked_at)]
    revoked_by: Annotated[str | None, From(ApiKey.revoked_by)]
    last_used_at: Annotated[datetime | None, From(ApiKey.last_used_at)]
    created_at: Annotated[datetime, From(ApiKey.created_at)]
    updated_at: Annotated[datetime, From(ApiKey.updated_at)]


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. Shown this once; only its hash is kept.")
