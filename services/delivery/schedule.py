"""The one retry schedule of every delivery, webhook or e-mail: after the first attempt 5 s,
5 min, 30 min, 2 h, 5 h, 10 h and 10 h (each within ±20 %, so that deliveries that failed
together do not all come back at once); after the eighth attempt the delivery has failed."""

import random
from datetime import datetime, timedelta

RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = (0.8, 1.2)


def next_attempt_at(attempts: int, *, now: datetime) -> datetime | None:
    """When a delivery that has failed ``attempts`` times (this one included) is due again,
    or None when the schedule is spent."""
    if attempts > len(RETRY_DELAYS):
        return None
    return now + timedelta(seconds=RETRY_DELAYS[attempts - 1] * random.uniform(*JITTER))
