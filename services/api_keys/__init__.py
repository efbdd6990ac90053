"""API keys for systems and scripts: shown once, stored as a hash, expiring, revocable; and the
authenticator, which turns a credential (one of these keys, or a token of the identity
provider) into a principal."""
