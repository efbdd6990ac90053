"""Where limits are counted: in Redis, shared by every API process (``LIMITS_URL``), or in this
process alone. Both count the same way, GCRA (the generic cell rate algorithm, a token bucket
kept as one timestamp per subject): a rule allows ``burst`` at once, then one more every
``interval_seconds``.

A store answers one question per request, atomically: may every count in ``check`` take one
more, and may every count in ``spend`` take one (then they do)? Nothing is spent when the
answer is no."""

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from services.observability.metrics import LIMITS_STORE_ERRORS

logger = logging.getLogger("api.limits")

KEY_PREFIX = "registry:limits:"
RETRY_STORE_AFTER_SECONDS = 5.0  # after the shared store failed, count in this process this long
MAX_LOCAL_SUBJECTS = 100_000  # a flood of new subjects empties the in-process store, never grows it without end


@dataclass(frozen=True)
class Rule:
    """``burst`` at once, then one more each ``interval_seconds``."""

    name: str
    burst: int
    interval_seconds: float

    @classmethod
    def per_window(cls, name: str, count: int, window_seconds: float) -> "Rule":
        """``count`` at once, and ``count`` more over each ``window_seconds`` after."""
        return cls(name, count, window_seconds / count)

    @property
    def window_seconds(self) -> float:
        return self.burst * self.interval_seconds


@dataclass(frozen=True)
class Count:
    """What one subject (a caller, an address, a key prefix) has used of one rule."""

    rule: Rule
    subject: str

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}{self.rule.name}:{self.subject}"


@dataclass(frozen=True)
class Verdict:
    refused: Count | None = None
    retry_after_seconds: float = 0.0
    # The first refusal of this count in its window, in every process: the one worth a log line.
    first_refusal: bool = False


ADMITTED = Verdict()


class LimitStore(Protocol):
    description: str

    async def admit(self, *, check: Sequence[Count] = (), spend: Sequence[Count] = ()) -> Verdict: ...

    async def close(self) -> None: ...


def _next_tat(stored: float | None, now: float, rule: Rule) -> tuple[float, float]:
    """The subject's theoretical arrival time after one more, and how long it must wait for it
    (at most zero: none; a rounding error of floating point is none either)."""
    ahead = max(stored if stored is not None else now, now) - now + rule.interval_seconds
    wait = ahead - rule.window_seconds
    return now + ahead, wait if wait > 1e-9 else 0.0


class LocalLimitStore:
    """Counts in this process only."""

    description = (
        "limits are counted in this process only (LIMITS_URL is unset): "
        "with several API processes a caller gets up to that many times each limit"
    )

    def __init__(self) -> None:
        self._tats: dict[str, float] = {}
        self._noted: dict[str, float] = {}

    async def admit(self, *, check: Sequence[Count] = (), spend: Sequence[Count] = ()) -> Verdict:
        return self.admit_now(check=check, spend=spend)

    def admit_now(self, *, check: Sequence[Count] = (), spend: Sequence[Count] = ()) -> Verdict:
        now = time.monotonic()
        new_tats: list[tuple[str, float]] = []
        for index, count in enumerate([*check, *spend]):
            tat, wait = _next_tat(self._tats.get(count.key), now, count.rule)
            if wait > 0:
                return Verdict(count, wait, self._note(count, now))
            if index >= len(check):
                new_tats.append((count.key, tat))
        if len(self._tats) > MAX_LOCAL_SUBJECTS:
            self._tats.clear()
            self._noted.clear()
        self._tats.update(new_tats)
        return ADMITTED

    def _note(self, count: Count, now: float) -> bool:
        if self._noted.get(count.key, 0.0) > now:
            return False
        self._noted[count.key] = now + count.rule.window_seconds
        return True

    async def close(self) -> None:
        return None


# KEYS: the checked counts, then the spent ones. ARGV[1]: how many are checked; then per key its
# interval in whole milliseconds and its burst (so the window is exactly burst intervals). Redis's own clock, so that every process agrees on "now".
# Returns {index of the refused key (0: none), milliseconds to wait, 1 if first refusal}.
ADMIT_SCRIPT = """
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local checked = tonumber(ARGV[1])
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i])
  local window = interval * tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  tat = tat + interval
  local wait = tat - window - now
  if wait > 0 then
    local first = redis.call('SET', key .. ':noted', '1', 'NX', 'PX', window)
    return {i, wait, first and 1 or 0}
  end
  tats[i] = tat
end
for i = checked + 1, #KEYS do
  redis.call('SET', KEYS[i], tats[i], 'PX', tats[i] - now)
end
return {0, 0, 0}
"""


def _milliseconds(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def _shown(url: str) -> str:
    """The URL without its credentials, for a log line."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


class RedisLimitStore:
    """Counts in Redis, shared by every process that names it. When Redis does not answer
    within ``timeout_seconds``, the request is admitted by this process's own counts (a
    warning, and ``registry_limits_store_errors_total``), and Redis is tried again after
    ``RETRY_STORE_AFTER_SECONDS``: limits loosen to per process, they never refuse everyone."""

    def __init__(self, url: str, *, timeout_seconds: float) -> None:
        # Imported only here: an API without LIMITS_URL never loads the redis client (a
        # tenth of its start-up and a few MB).
        from redis.asyncio import Redis
        from redis.exceptions import RedisError

        self._errors: tuple[type[BaseException], ...] = (RedisError, OSError)
        self.description = f"limits are counted in {_shown(url)}, shared by every API process"
        self._redis: Redis = Redis.from_url(url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds)
        self._script: Any = self._redis.register_script(ADMIT_SCRIPT)
        self._shown_url = _shown(url)
        self._fallback = LocalLimitStore()
        self._store_down_until = 0.0

    async def admit(self, *, check: Sequence[Count] = (), spend: Sequence[Count] = ()) -> Verdict:
        counts = [*check, *spend]
        if not counts:
            return ADMITTED
        if time.monotonic() < self._store_down_until:
            return self._fallback.admit_now(check=check, spend=spend)
        args: list[int] = [len(check)]
        for count in counts:
            args += [_milliseconds(count.rule.interval_seconds), count.rule.burst]
        try:
            refused, wait_ms, first = await self._script(keys=[count.key for count in counts], args=args)
        except self._errors as error:
            self._store_down_until = time.monotonic() + RETRY_STORE_AFTER_SECONDS
            LIMITS_STORE_ERRORS.inc()
            logger.warning(
                "the limits store %s did not answer (%s); counting in this process for %.0f s",
                self._shown_url,
                type(error).__name__,
                RETRY_STORE_AFTER_SECONDS,
            )
            return self._fallback.admit_now(check=check, spend=spend)
        if not refused:
            return ADMITTED
        return Verdict(counts[int(refused) - 1], int(wait_ms) / 1000, bool(first))

    async def close(self) -> None:
        await self._redis.aclose()


def limit_store(url: str | None, *, timeout_seconds: float) -> LimitStore:
    """Redis at ``url`` (``LIMITS_URL``), or this process alone when it is unset."""
    if url:
        return RedisLimitStore(url, timeout_seconds=timeout_seconds)
    return LocalLimitStore()
