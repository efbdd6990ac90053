"""Memoranda of understanding between UN entities: who leads and supports what, signed and dated."""
