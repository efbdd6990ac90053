"""Time-ordered UUIDs (RFC 9562 version 7).

Ordering by id is ordering by creation (to the millisecond), so keyset pagination runs
on the primary key index alone and new rows land at the right edge of the index.
"""

import os
import time
import uuid


def uuid7() -> uuid.UUID:
    """A new version-7 UUID: 48 bits of Unix milliseconds, version, 74 random bits."""
    unix_ms = (time.time_ns() // 1_000_000) & 0xFFFF_FFFF_FFFF
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits, 74 used
    rand_a = (rand >> 62) & 0xFFF
    rand_b = rand & 0x3FFF_FFFF_FFFF_FFFF
    return uuid.UUID(int=(unix_ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)
