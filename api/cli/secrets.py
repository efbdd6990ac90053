"""``registry rotate-secrets-key`` and ``registry new-secrets-key``: the keys that encrypt
webhook signing secrets at rest (docs/OPERATIONS.md, "Secrets at rest")."""

import argparse
import asyncio
import sys

from api.cli.database import with_embedded_database
from services.database import create_database
from services.encryption import KeyringError, keyring, new_key_entry
from services.settings import get_settings
from services.webhooks.secrets import reseal_all


def add_secrets_arguments(rotate: argparse.ArgumentParser, new: argparse.ArgumentParser) -> None:
    rotate.add_argument("--batch", type=int, default=500, help="endpoints re-encrypted per transaction (500)")
    new.add_argument("key_id", help="the new key's id, e.g. 2026-12 (letters, digits, '.', '_', '-')")


def command_rotate_secrets_key(args: argparse.Namespace) -> None:
    """Re-encrypt every webhook secret with the first key of SECRETS_ENCRYPTION_KEYS."""
    settings, server = with_embedded_database(get_settings())
    database = create_database(settings)
    try:
        active = keyring().active_id
        resealed, remaining = asyncio.run(reseal_all(database, batch=args.batch))
    except KeyringError as error:
        sys.exit(f"registry rotate-secrets-key: {error}")
    finally:
        asyncio.run(database.dispose())
        if server is not None:
            server.cleanup()
    print(f"re-encrypted {resealed} webhook endpoints' secrets with key {active!r}")
    if remaining:
        sys.exit(f"{remaining} are still under another key (held by a concurrent change): run it again")
    print("every secret is under that key now: older keys may be removed from SECRETS_ENCRYPTION_KEYS")


def command_new_secrets_key(args: argparse.Namespace) -> None:
    """Print a new key-id:key entry for SECRETS_ENCRYPTION_KEYS (put it first to make it active)."""
    try:
        print(new_key_entry(args.key_id))
    except KeyringError as error:
        sys.exit(f"registry new-secrets-key: {error}")
