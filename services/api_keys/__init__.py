"""API keys for systems and scripts: shown once, stored as a hash, expiring, revocable."""
