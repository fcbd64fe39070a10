"""Prefetching pages: same order, same errors at the same place, no thread left behind."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from partnerplan.errors import BudgetExhausted
from worker.prefetch import prefetched


def pages(count: int, produced: list[int], fail_at: int | None = None) -> Iterator[int]:
    """A page generator that notes what it produced and can fail before page ``fail_at``."""
    try:
        for number in range(count):
            if number == fail_at:
                raise BudgetExhausted("budget spent")
            produced.append(number)
            yield number
    finally:
        produced.append(-1)  # closed


def test_pages_come_out_in_order():
    """Every page is yielded once, in the generator's order."""
    produced: list[int] = []
    assert list(range(50)) == list(prefetched(pages(50, produced)))


def test_an_error_arrives_after_the_pages_before_it():
    """A generator's exception reaches the consumer after every page produced before it."""
    received: list[int] = []
    with pytest.raises(BudgetExhausted):
        for page in prefetched(pages(10, [], fail_at=4)):
            received.append(page)
    assert [0, 1, 2, 3] == received


def test_stopping_early_closes_the_generator_and_joins_the_thread():
    """A consumer that stops early leaves no thread running and the generator closed."""
    produced: list[int] = []
    before = threading.active_count()
    stream = prefetched(pages(100, produced), depth=1)
    assert 0 == next(stream)
    stream.close()
    assert before == threading.active_count()
    assert -1 == produced[-1]
    assert len(produced) <= 4  # page 0, one queued, one waiting to be queued, the close marker
