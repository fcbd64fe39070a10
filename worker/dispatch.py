"""Where a created run goes next: an inline queue (in-process) or a Dramatiq actor (Redis).

Both deliver exactly the same thing, a (stage, run id) pair, to :func:`pipeline.execute`, so
in-process mode and distributed mode run the same actor code.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Protocol


class Dispatcher(Protocol):
    """Delivers a run to whatever executes it (inline deque, or a Dramatiq actor)."""

    def send(self, stage: str, run_id: int) -> None: ...


class InlineDispatcher:
    """Queues sent runs for this process; :func:`worker.runner.execute_all` executes them.

    Breadth-first, in the order they were sent, except that stream syncs queued together run
    together, in their sources' lanes (:mod:`worker.streams`).
    """

    def __init__(self) -> None:
        self.queue: deque[tuple[str, int]] = deque()
        self.sent: list[tuple[str, int]] = []

    def send(self, stage: str, run_id: int) -> None:
        """Queue a run (thread-safe: a stream's thread sends the compute it chains)."""
        self.queue.append((stage, run_id))
        self.sent.append((stage, run_id))


class ActorDispatcher:
    """Sends each run as a message to the actor of its stage."""

    def __init__(self, actors: dict[str, Any]) -> None:
        self.actors = actors

    def send(self, stage: str, run_id: int) -> None:
        """Enqueue ``run_id`` on the stage's actor."""
        self.actors[stage].send(run_id)
