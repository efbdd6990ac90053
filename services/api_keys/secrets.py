"""Making and hashing keys. A key has 256 random bits, so a plain SHA-256 is a safe hash."""

import hashlib
import secrets

KEY_PREFIX = "mnr_"


def new_key() -> tuple[str, str]:
    """A new key and its public prefix: ``mnr_<8 hex>_<43 urlsafe chars>``."""
    prefix = KEY_PREFIX + secrets.token_hex(4)
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(credential: str) -> bool:
    return credential.startswith(KEY_PREFIX) and credential.count("_") >= 2
