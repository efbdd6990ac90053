"""Webhook signing secrets at rest: encrypted in their columns under a key id, re-encrypted by
`registry rotate-secrets-key` with the newest key, still signing deliveries that the
standardwebhooks package verifies; and migration 0020 encrypting a 0019 database's rows."""

import asyncio
import base64
import os
import stat
import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from migrations.config import alembic_config
from services.database import get_database
from services.encryption import LOCAL_KEYS_FILE, KeyringError, keyring, new_key_entry, parse_keys
from services.settings import Settings, get_settings, use_settings
from services.webhooks.secrets import SealedSecrets, reseal_all, unseal
from tests.conftest import TEST_DATABASE, committed_admin_key
from tests.deployment import drop_database, fetch, fresh_database, registry
from tests.served_app import served_app
from tests.stub_worker import broker, drain
from tests.webhook_receiver import Receiver

RAW = "SELECT id, secret, previous_secret, secrets_key_id, version, updated_at FROM webhook_endpoints ORDER BY id"


def _local_entry() -> str:
    """The development key the tests run with (DATA_DIR's key file), as a settings entry."""
    return (get_settings().data_dir / LOCAL_KEYS_FILE).read_text().strip()


@pytest.fixture
def keys() -> Iterator[list[str]]:
    """SECRETS_ENCRYPTION_KEYS for the test, starting as the development key alone: a test
    puts a new key first to make it active."""
    keyring()  # the development key file exists
    previous = get_settings()
    entries = [_local_entry()]

    def apply() -> None:
        use_settings(previous.model_copy(update={"secrets_encryption_keys": " ".join(entries)}))

    apply()
    yield entries
    use_settings(previous)


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    pair = [Receiver(), Receiver()]
    yield pair
    for receiver in pair:
        receiver.close()


@pytest.fixture
async def admin(committed):
    headers = {"Authorization": f"Bearer {await committed_admin_key()}"}
    client = AsyncClient(transport=ASGITransport(app=served_app()), base_url="http://t", headers=headers)
    broker.flush_all()
    yield client
    await client.aclose()


async def _raw_rows() -> list:
    async with get_database().read() as conn:
        return (await conn.execute(text(RAW))).all()


async def _two_endpoints(admin: AsyncClient, receivers: list[Receiver]) -> list[dict]:
    """Two endpoints, the second with a rotated secret (so a previous one that still signs)."""
    endpoints = []
    for receiver in receivers:
        created = await admin.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["entity.*"]})
        assert created.status_code == 201, created.text
        endpoints.append({**created.json(), "secrets": [created.json()["secret"]]})
    rotated = await admin.post(f"/v1/webhook-endpoints/{endpoints[1]['id']}/rotate-secret")
    endpoints[1]["secrets"].append(rotated.json()["secret"])
    return endpoints


async def test_the_columns_hold_no_secret_in_clear(admin, receivers):
    endpoints = await _two_endpoints(admin, receivers)
    rows = await _raw_rows()
    assert len(rows) == 2
    stored = " ".join(f"{row.secret} {row.previous_secret}" for row in rows)
    assert "whsec_" not in stored
    for endpoint in endpoints:
        for secret in endpoint["secrets"]:
            assert secret not in stored and secret[6:] not in stored
    assert {row.secrets_key_id for row in rows} == {keyring().active_id}
    assert rows[1].previous_secret is not None
    # a ciphertext moved to another endpoint does not open there (it is bound to its row)
    first, second = rows
    with pytest.raises(KeyringError):
        unseal(second.id, SealedSecrets(first.secrets_key_id, first.secret, None))


async def test_rotating_the_key_reencrypts_every_row_and_deliveries_still_verify(admin, receivers, keys):
    endpoints = await _two_endpoints(admin, receivers)
    before = await _raw_rows()
    keys.insert(0, new_key_entry("2026-12"))
    use_settings(get_settings().model_copy(update={"secrets_encryption_keys": " ".join(keys)}))

    assert await reseal_all(get_database(), batch=1) == (2, 0)  # one endpoint per unit of work
    after = await _raw_rows()
    assert {row.secrets_key_id for row in after} == {"2026-12"}
    assert [(row.version, row.updated_at) for row in after] == [(row.version, row.updated_at) for row in before]
    for new, old in zip(after, before, strict=True):  # new ciphertexts, the same secrets
        assert new.secret != old.secret and (new.previous_secret is None) == (old.previous_secret is None)
        assert new.previous_secret is None or new.previous_secret != old.previous_secret
    assert await reseal_all(get_database()) == (0, 0)  # nothing left under the old key

    keys.pop()  # the old key removed: every secret opens with the new one alone
    use_settings(get_settings().model_copy(update={"secrets_encryption_keys": " ".join(keys)}))
    await admin.post("/v1/entities", json={"acronym": "KEYROT", "name": "Key rotated", "kind": "un_system"})
    await drain(threads=2)
    for endpoint, receiver in zip(endpoints, receivers, strict=True):
        (request,) = receiver.requests
        assert len(request["headers"]["webhook-signature"].split(" ")) == len(endpoint["secrets"])
        for secret in endpoint["secrets"]:
            payload = Webhook(secret).verify(request["body"], request["headers"])
            assert payload["type"] == "entity.created"


async def test_a_secret_under_a_key_no_longer_configured_is_a_clear_error(admin, receivers, keys):
    await _two_endpoints(admin, receivers)
    use_settings(get_settings().model_copy(update={"secrets_encryption_keys": new_key_entry("other")}))
    with pytest.raises(KeyringError, match="SECRETS_ENCRYPTION_KEYS does not hold"):
        await reseal_all(get_database())


async def test_a_delivery_that_cannot_be_signed_is_recorded_and_retried_not_left_pending(admin, receivers, keys):
    """The key that sealed an endpoint's secret removed from the settings: its deliveries are not
    sent, and each says why (an attempt counted, due again on the schedule), as every failed
    delivery does; once the key is back they go out."""
    await _two_endpoints(admin, receivers)
    use_settings(get_settings().model_copy(update={"secrets_encryption_keys": new_key_entry("other")}))
    created = await admin.post("/v1/entities", json={"acronym": "NOKEY", "name": "No key", "kind": "un_system"})
    assert created.status_code == 201, created.text
    await drain(threads=2)
    async with get_database().read() as conn:
        rows = (
            await conn.execute(
                text("SELECT status, attempts, last_error, next_attempt_at > now() AS later FROM webhook_deliveries")
            )
        ).all()
        logged = await conn.scalar(text("SELECT count(*) FROM webhook_attempts"))
    assert [(r.status, r.attempts, r.later) for r in rows] == [("pending", 1, True)] * 2
    assert {r.last_error for r in rows} == {"not sent: the registry cannot sign it (its operator is told)"}
    assert logged == 2
    assert [r.requests for r in receivers] == [[], []]


def test_keys_are_read_with_clear_messages_for_mistakes():
    first, second = new_key_entry("a"), new_key_entry("b.2")
    ring = parse_keys(f"{first}, {second}\n")
    assert ring.active_id == "a" and set(ring.keys) == {"a", "b.2"}
    key_id, sealed = ring.seal("whsec_x", context="c")
    assert parse_keys(second + " " + first).open(sealed, key_id=key_id, context="c") == "whsec_x"
    for keys_text, message in (
        ("", "holds no key"),
        ("nokey", "key-id:base64-key"),
        ("a:" + base64.b64encode(b"short").decode(), "must be 32 bytes"),
        (f"{first} {first}", "appears twice"),
        ("bad id:" + first.split(":")[1], "key-id:base64-key"),
    ):
        with pytest.raises(KeyringError, match=message):
            parse_keys(keys_text)


def test_the_key_may_come_from_a_file(tmp_path, monkeypatch):
    entry = new_key_entry("from-file")
    (tmp_path / "keys").write_text(entry + "\n")
    monkeypatch.setenv("SECRETS_ENCRYPTION_KEYS_FILE", str(tmp_path / "keys"))
    monkeypatch.delenv("SECRETS_ENCRYPTION_KEYS", raising=False)
    assert parse_keys(Settings().secrets_encryption_keys or "").active_id == "from-file"


def test_without_keys_a_development_key_is_made_once_readable_by_its_owner_alone(tmp_path, caplog):
    previous = get_settings()
    try:
        use_settings(previous.model_copy(update={"secrets_encryption_keys": None, "data_dir": tmp_path}))
        first = keyring()
        assert "SECRETS_ENCRYPTION_KEYS is not set" in caplog.text
        path = tmp_path / LOCAL_KEYS_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        use_settings(get_settings().model_copy())  # another process, the same machine
        assert keyring().keys == first.keys and os.listdir(tmp_path) == [LOCAL_KEYS_FILE]
    finally:
        use_settings(previous)


# Migration 0020 on a database populated at 0019, and the command line.

NAME = f"{TEST_DATABASE}_secrets"
OLD_SECRETS = {
    uuid.UUID("00000000-0000-7000-8000-000000000001"): ("whsec_" + base64.b64encode(b"1" * 32).decode(), None),
    uuid.UUID("00000000-0000-7000-8000-000000000002"): (
        "whsec_" + base64.b64encode(b"2" * 32).decode(),
        "whsec_" + base64.b64encode(b"3" * 32).decode(),
    ),
}


@pytest.fixture
def database_at_0019() -> Iterator[str]:
    url = fresh_database(NAME)
    command.upgrade(alembic_config(url), "0019")
    for endpoint_id, (secret, previous) in OLD_SECRETS.items():
        fetch(
            url,
            "INSERT INTO webhook_endpoints (id, url, event_types, owner_principal_id, owner_role, secret, "
            f"previous_secret) VALUES ('{endpoint_id}', 'https://hooks.example.org/x', '{{*}}', 'key:x', 'admin', "
            f"'{secret}', {'NULL' if previous is None else repr(previous)}) RETURNING id",
        )
    yield url
    drop_database(NAME)


def _rows(url: str, query: str = RAW) -> list:
    async def read() -> list:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(query)
        finally:
            await conn.close()

    return asyncio.run(read())


def test_migration_0020_encrypts_the_secrets_of_a_0019_database_and_down_decrypts_them(database_at_0019, keys):
    config = alembic_config(database_at_0019)
    before = _rows(database_at_0019, "SELECT id, version, updated_at FROM webhook_endpoints ORDER BY id")
    command.upgrade(config, "0020")
    rows = _rows(database_at_0019)
    assert not any("whsec_" in (row["secret"] + (row["previous_secret"] or "")) for row in rows)
    assert {row["secrets_key_id"] for row in rows} == {keyring().active_id}
    assert [(r["version"], r["updated_at"]) for r in rows] == [(r["version"], r["updated_at"]) for r in before]
    for row in rows:
        sealed = SealedSecrets(row["secrets_key_id"], row["secret"], row["previous_secret"])
        assert unseal(row["id"], sealed) == OLD_SECRETS[row["id"]]

    command.downgrade(config, "0019")
    clear = _rows(database_at_0019, "SELECT id, secret, previous_secret FROM webhook_endpoints")
    assert {r["id"]: (r["secret"], r["previous_secret"]) for r in clear} == OLD_SECRETS
    command.upgrade(config, "0020")

    # the command line: a new key first, then every row under it
    keys.insert(0, new_key_entry("2027-01"))
    output = registry(database_at_0019, "rotate-secrets-key", SECRETS_ENCRYPTION_KEYS=" ".join(keys))
    assert "re-encrypted 2 webhook endpoints' secrets with key '2027-01'" in output
    rows = _rows(database_at_0019)
    assert {row["secrets_key_id"] for row in rows} == {"2027-01"}
    ring = parse_keys(keys[0])
    for row in rows:
        sealed = SealedSecrets(row["secrets_key_id"], row["secret"], row["previous_secret"])
        assert unseal(row["id"], sealed, ring) == OLD_SECRETS[row["id"]]
