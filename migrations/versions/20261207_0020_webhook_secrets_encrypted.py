"""Webhook signing secrets are stored encrypted (AES-256-GCM, services/encryption.py), each
endpoint's under the key named in its new ``secrets_key_id``; the existing ones are
encrypted here with the active key of SECRETS_ENCRYPTION_KEYS (or the development key).
Downgrading decrypts them back into the columns, so the keys must still be there.

Not an expand step: the previous release would sign with the ciphertext. Stop the workers
(the API may run) while this runs and until they run this release (docs/OPERATIONS.md,
"Secrets at rest").

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from services.webhooks.secrets import SealedSecrets, seal, unseal

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROWS_PER_STATEMENT = 500
_endpoints = sa.table(
    "webhook_endpoints",
    sa.column("id", sa.Uuid()),
    sa.column("secret", sa.String()),
    sa.column("previous_secret", sa.String()),
    sa.column("secrets_key_id", sa.String()),
)
# By primary key; updated_at and version untouched: the records did not change.
_WRITE = (
    sa.update(_endpoints)
    .where(_endpoints.c.id == sa.bindparam("endpoint_id"))
    .values(
        secret=sa.bindparam("new_secret"),
        previous_secret=sa.bindparam("new_previous"),
        secrets_key_id=sa.bindparam("new_key_id"),
    )
)


def _rewrite(rows: Sequence[Any], convert: Any) -> None:
    connection = op.get_bind()
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        connection.execute(_WRITE, [convert(*row) for row in rows[start : start + ROWS_PER_STATEMENT]])


def _sealed(endpoint_id: Any, secret: str, previous: str | None) -> dict[str, Any]:
    sealed = seal(endpoint_id, secret=secret, previous=previous)
    return {
        "endpoint_id": endpoint_id,
        "new_secret": sealed.secret,
        "new_previous": sealed.previous_secret,
        "new_key_id": sealed.key_id,
    }


def _clear(endpoint_id: Any, secret: str, previous: str | None, key_id: str) -> dict[str, Any]:
    clear, clear_previous = unseal(endpoint_id, SealedSecrets(key_id, secret, previous))
    return {"endpoint_id": endpoint_id, "new_secret": clear, "new_previous": clear_previous, "new_key_id": key_id}


def upgrade() -> None:
    op.add_column("webhook_endpoints", sa.Column("secrets_key_id", sa.String(length=64), nullable=True))
    for column in ("secret", "previous_secret"):
        op.alter_column("webhook_endpoints", column, type_=sa.String(length=200), existing_type=sa.String(length=100))
    rows = op.get_bind().execute(sa.select(_endpoints.c.id, _endpoints.c.secret, _endpoints.c.previous_secret)).all()
    _rewrite(rows, _sealed)
    op.alter_column("webhook_endpoints", "secrets_key_id", nullable=False, existing_type=sa.String(length=64))


def downgrade() -> None:
    columns = (_endpoints.c.id, _endpoints.c.secret, _endpoints.c.previous_secret, _endpoints.c.secrets_key_id)
    _rewrite(op.get_bind().execute(sa.select(*columns)).all(), _clear)
    op.drop_column("webhook_endpoints", "secrets_key_id")
    for column in ("secret", "previous_secret"):
        op.alter_column("webhook_endpoints", column, type_=sa.String(length=100), existing_type=sa.String(length=200))
