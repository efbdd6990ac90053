"""Idempotency keys: a repeated POST returns the stored response instead of acting twice."""
