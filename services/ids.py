"""Time-ordered UUIDs (RFC 9562 version 7).

Ordering by id is ordering by creation, so keyset pagination runs on the primary key index
alone and new rows land at the right edge of the index. Within one process ids are strictly
increasing, even for rows made in the same millisecond (RFC 9562, 6.2, method 3: the 12 bits
after the milliseconds hold the fraction of the millisecond, and a clash steps past the last
id); across processes they are ordered to the millisecond.
"""

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = 0


def uuid7() -> uuid.UUID:
    """A new version-7 UUID: 48 bits of Unix milliseconds, version, 12 bits of the
    millisecond's fraction, variant, 62 random bits; greater than any this process made."""
    global _last
    now_ns = time.time_ns()
    unix_ms = (now_ns // 1_000_000) & 0xFFFF_FFFF_FFFF
    fraction = (now_ns % 1_000_000) * 4096 // 1_000_000  # 12 bits
    rand_b = int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF
    value = (unix_ms << 80) | (0x7 << 76) | (fraction << 64) | (0b10 << 62) | rand_b
    with _lock:
        if value <= _last:  # the clock stood still or went back: step past the last id
            value = _last + 1
            if (value >> 62) & 0b11 != 0b10:  # the random bits ran over: carry into the fraction
                value = ((value >> 64) + 1) << 64 | (0b10 << 62)
        _last = value
    return uuid.UUID(int=value)
