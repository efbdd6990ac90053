"""Making and hashing keys. A key has 256 random bits, so a plain SHA-256 is a safe hash."""

import hashlib
import re
import secrets

KEY_PREFIX = "mnr_"
_PUBLIC_PREFIX = re.compile(r"mnr_[0-9a-f]{8}(?=_)")


def new_key() -> tuple[str, str]:
    """A new key and its public prefix: ``mnr_<8 hex>_<43 urlsafe chars>``."""
    prefix = KEY_PREFIX + secrets.token_hex(4)
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(credential: str) -> bool:
    return credential.startswith(KEY_PREFIX) and credential.count("_") >= 2


def public_prefix(credential: str) -> str | None:
    """The public part of what looks like a key (``mnr_<8 hex>``), shown in key listings; ``None``
    for anything else. Never any of the secret part."""
    found = _PUBLIC_PREFIX.match(credential)
    return found.group() if found else None
