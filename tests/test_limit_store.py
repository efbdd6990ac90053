"""The limits stores: the same counting in this process and in Redis, Redis shared by two
stores as by two API processes, and a Redis that does not answer loosening limits to this
process's own, never refusing everyone."""

import logging
import uuid

import pytest
from prometheus_client import REGISTRY

from api.limit_store import ADMITTED, LimitStore, LocalLimitStore, RedisLimitStore, Rule
from api.limit_store import Count as C
from tests.integration.required import required_url
from tests.integration.stack import free_port


def redis_url() -> str:
    return required_url("TEST_REDIS_URL", "shared limits store")


def subject() -> str:
    return uuid.uuid4().hex  # Redis outlives a test run: every run counts subjects of its own


@pytest.fixture(params=["local", "redis"])
async def store(request):
    made: LimitStore = (
        LocalLimitStore() if request.param == "local" else RedisLimitStore(redis_url(), timeout_seconds=2)
    )
    yield made
    await made.close()


async def test_a_rule_allows_its_burst_then_says_how_long_to_wait(store):
    rule = Rule.per_window("test", 3, 60)
    count = C(rule, subject())
    verdicts = [await store.admit(spend=[count]) for _ in range(4)]
    assert verdicts[:3] == [ADMITTED] * 3
    assert verdicts[3].refused == count
    assert 19 < verdicts[3].retry_after_seconds <= 20  # 3 per 60 s: one more every 20 s
    assert verdicts[3].first_refusal
    assert not (await store.admit(spend=[count])).first_refusal  # noted once per window
    assert (await store.admit(spend=[C(rule, subject())])) == ADMITTED  # per subject


@pytest.mark.parametrize(("count", "window"), [(1, 600), (7, 60), (3, 0.3), (20, 600)])
async def test_a_burst_is_whole_whatever_the_rounding(store, count, window):
    rule = Rule.per_window("test", count, window)
    subject_count = C(rule, subject())
    verdicts = [await store.admit(spend=[subject_count]) for _ in range(count + 1)]
    assert verdicts[:count] == [ADMITTED] * count
    assert verdicts[count].refused == subject_count


async def test_checking_spends_nothing_and_a_refusal_spends_nothing(store):
    rule = Rule.per_window("test", 2, 60)
    checked, spent = C(rule, subject()), C(rule, subject())
    for _ in range(5):
        assert await store.admit(check=[checked]) == ADMITTED
    assert await store.admit(spend=[checked]) == ADMITTED
    assert await store.admit(spend=[checked]) == ADMITTED
    assert (await store.admit(check=[checked], spend=[spent])).refused == checked
    # ``spent`` was not spent by the refused request: its two are still there.
    assert await store.admit(spend=[spent]) == ADMITTED
    assert await store.admit(spend=[spent]) == ADMITTED
    assert (await store.admit(spend=[spent])).refused == spent


async def test_two_stores_on_one_redis_count_once():
    url = redis_url()
    first, second = RedisLimitStore(url, timeout_seconds=2), RedisLimitStore(url, timeout_seconds=2)
    try:
        count = C(Rule.per_window("test", 10, 600), subject())
        verdicts = [await (first if n % 2 else second).admit(spend=[count]) for n in range(30)]
        assert sum(v == ADMITTED for v in verdicts) == 10
        assert sum(v.first_refusal for v in verdicts) == 1  # one log line, whichever process refused first
    finally:
        await first.close()
        await second.close()


async def test_a_store_that_does_not_answer_leaves_each_process_counting_alone(caplog):
    caplog.set_level(logging.WARNING, logger="api.limits")
    down = RedisLimitStore(f"redis://:store-password@127.0.0.1:{free_port()}/0", timeout_seconds=0.5)
    assert "store-password" not in down.description
    errors = REGISTRY.get_sample_value("registry_limits_store_errors_total") or 0.0
    try:
        count = C(Rule.per_window("test", 2, 60), subject())
        verdicts = [await down.admit(spend=[count]) for _ in range(3)]
    finally:
        await down.close()
    assert verdicts[:2] == [ADMITTED] * 2
    assert verdicts[2].refused == count  # still limited, by this process's counts
    assert (REGISTRY.get_sample_value("registry_limits_store_errors_total") or 0.0) - errors == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "api.limits"]
    assert len(warnings) == 1, warnings  # tried again only after a while
    assert "did not answer" in warnings[0]
    assert "counting in this process" in warnings[0]
    assert "store-password" not in caplog.text
