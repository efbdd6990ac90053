"""Ids order rows by creation: keyset pages list records in the order they were made."""

import threading
import uuid

from services.ids import uuid7


def test_ids_made_in_one_millisecond_still_follow_each_other():
    ids = [uuid7() for _ in range(50_000)]  # many per millisecond
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert {i.version for i in ids} == {7} and {i.variant for i in ids} == {uuid.RFC_4122}


def test_ids_made_by_two_threads_are_distinct_and_each_thread_sees_them_increase():
    made: dict[int, list[uuid.UUID]] = {0: [], 1: []}

    def make(slot: int) -> None:
        made[slot] = [uuid7() for _ in range(20_000)]

    threads = [threading.Thread(target=make, args=(slot,)) for slot in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(ids == sorted(ids) for ids in made.values())
    assert len(set(made[0]) | set(made[1])) == 40_000
