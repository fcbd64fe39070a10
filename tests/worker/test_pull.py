"""The ids a full pull saw: exact for every id added, compact enough for the largest stream."""

from __future__ import annotations

from worker.pull import Seen


def test_every_seen_id_is_found_and_unseen_ids_are_not():
    """200,000 Salesforce-like ids in, 200,000 others out: no miss, no false hit."""
    seen = Seen()
    added = [f"006{i:015d}" for i in range(0, 400_000, 2)]
    for record_id in added:
        seen.add(record_id)
    assert len(seen) == 200_000
    assert all(record_id in seen for record_id in added)
    assert not any(f"006{i:015d}" in seen for i in range(1, 400_000, 2))


def test_ids_added_after_a_lookup_are_found_too():
    """The deletions listing adds ids after the pages; lookups still see every one."""
    seen = Seen()
    seen.add("a")
    assert "a" in seen and "b" not in seen
    seen.add("b")
    assert "b" in seen and "a" in seen


def test_memory_is_eight_bytes_per_id():
    """What makes a full sync's memory flat: the ids themselves are not kept."""
    seen = Seen()
    for i in range(10_000):
        seen.add(f"record-{i}")
    assert seen.hashes.itemsize * len(seen.hashes) == 80_000
