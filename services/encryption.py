"""Secrets the registry must keep readable (webhook signing secrets) are stored encrypted:
AES-256-GCM under a key from ``SECRETS_ENCRYPTION_KEYS``, each ciphertext stored beside the
id of the key that sealed it, so several keys can be in force while rows move to a new one
(``registry rotate-secrets-key``).

``SECRETS_ENCRYPTION_KEYS`` holds one or more ``key-id:key`` entries (the key: 32 random
bytes, base64), separated by spaces, commas or new lines. The first one encrypts; every one
decrypts. Unset (a developer's machine, the tests), the registry uses a key it generated
once in ``DATA_DIR/secrets-encryption-keys`` and says so loudly: a deployment sets its own
(docs/OPERATIONS.md, "Secrets at rest")."""

import base64
import binascii
import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.settings import Settings, get_settings

logger = logging.getLogger("services.encryption")

KEY_BYTES = 32
NONCE_BYTES = 12
LOCAL_KEYS_FILE = "secrets-encryption-keys"
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class KeyringError(ValueError):
    """The keys are missing, malformed, or do not open a stored secret."""


@dataclass(frozen=True)
class Keyring:
    """The keys in force: ``active_id`` seals, every key in ``keys`` opens."""

    active_id: str
    keys: dict[str, bytes]

    def seal(self, plaintext: str, *, context: str) -> tuple[str, str]:
        """``(key id, ciphertext)``: ``plaintext`` under the active key, bound to ``context``
        (which record and field it belongs to: a ciphertext copied elsewhere does not open)."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.active_id]).encrypt(nonce, plaintext.encode(), context.encode())
        return self.active_id, base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, ciphertext: str, *, key_id: str, context: str) -> str:
        """The plaintext of ``ciphertext``, sealed by ``key_id`` for ``context``."""
        key = self.keys.get(key_id)
        if key is None:
            raise KeyringError(
                f"a secret is sealed with key {key_id!r}, which SECRETS_ENCRYPTION_KEYS does not hold; "
                "add it back (after the active key) and run `registry rotate-secrets-key`"
            )
        try:
            raw = base64.urlsafe_b64decode(ciphertext)
            return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError) as error:
            raise KeyringError(f"a secret sealed with key {key_id!r} does not open with it ({context})") from error


def parse_keys(text: str, *, setting: str = "SECRETS_ENCRYPTION_KEYS") -> Keyring:
    """A keyring from ``key-id:base64-key`` entries (the first one active); errors name ``setting``."""
    keys: dict[str, bytes] = {}
    for entry in re.split(r"[\s,]+", text.strip()):
        if not entry:
            continue
        key_id, _, encoded = entry.partition(":")
        if not _KEY_ID.match(key_id) or not encoded:
            raise KeyringError(
                f"{setting}: each entry is key-id:base64-key, the id of letters, digits, "
                f"'.', '_' or '-' (got an entry starting {entry[:8]!r}…)"
            )
        try:
            key = base64.urlsafe_b64decode(encoded.replace("+", "-").replace("/", "_"))
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != KEY_BYTES:
            raise KeyringError(f"{setting}: key {key_id!r} must be {KEY_BYTES} bytes, base64-encoded")
        if key_id in keys:
            raise KeyringError(f"{setting}: key id {key_id!r} appears twice")
        keys[key_id] = key
    if not keys:
        raise KeyringError(f"{setting} holds no key")
    return Keyring(active_id=next(iter(keys)), keys=keys)


def new_key_entry(key_id: str) -> str:
    """A fresh ``key-id:key`` entry, for SECRETS_ENCRYPTION_KEYS."""
    if not _KEY_ID.match(key_id):
        raise KeyringError("a key id is 1-64 letters, digits, '.', '_' or '-'")
    return f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def local_keys(data_dir: Path, name: str = LOCAL_KEYS_FILE) -> str:
    """The development keyring ``name`` in ``data_dir``: read, or made once (readable by its owner only)."""
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(new_key_entry("local-" + secrets.token_hex(4)) + "\n")
        try:
            os.link(draft, path)  # whole or not at all; of processes starting at once, one wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="utf-8")


_cache: tuple[Settings, Keyring] | None = None


def keyring() -> Keyring:
    """The process's keyring, from SECRETS_ENCRYPTION_KEYS, else the development key file."""
    global _cache
    settings = get_settings()
    if _cache is not None and _cache[0] is settings:
        return _cache[1]
    if settings.secrets_encryption_keys:
        ring = parse_keys(settings.secrets_encryption_keys)
    else:
        path = (settings.data_dir / LOCAL_KEYS_FILE).resolve()
        ring = parse_keys(local_keys(settings.data_dir))
        logger.warning(
            "SECRETS_ENCRYPTION_KEYS is not set: webhook secrets are encrypted with the development key in %s. "
            "Every deployment must set its own key (docs/OPERATIONS.md, 'Secrets at rest').",
            path,
        )
    _cache = (settings, ring)
    return ring
