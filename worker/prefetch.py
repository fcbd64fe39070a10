"""Fetch the next page while the current one is mapped and stored.

A sync alternates two kinds of work: waiting for the CRM to answer (the socket, no CPU) and
mapping + storing the page it answered (CPU and the database, no network). Done in turn, the
CRM sits idle while we store, and we sit idle while it answers: the benchmark profile of a full
sync showed half the wall time in ``socket.recv_into``. :func:`prefetched` runs the page
generator in one background thread, at most ``depth`` pages ahead, so the two overlap.

What does not change: pages come out in the generator's order, the consumer still stores each
page and advances the watermark in one transaction, and an exception the generator raises
(``BudgetExhausted``, an HTTP error) reaches the consumer exactly where it would have without
prefetching: after every page produced before it. Only one thread ever drives the generator, and
when the consumer stops early the thread is joined before :func:`prefetched` returns, so the
connector is never used by two threads at once.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


class _Failed:
    """The exception the generator raised, carried to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(items: Iterable[T], depth: int = 1) -> Generator[T, None, None]:
    """Yield ``items`` in order, producing up to ``depth`` of them ahead in a thread."""
    slots: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def offer(item: object) -> bool:
        """Put ``item`` unless the consumer has gone; False when it has."""
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            offer(_Failed(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    context = contextvars.copy_context()  # log context (run id, stream) follows the thread
    worker = threading.Thread(target=context.run, args=(produce,), name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
