"""Where a created run goes next: an inline queue (in-process) or a Dramatiq actor (Redis).

Both deliver exactly the same thing, a (stage, run id) pair, to :func:`pipeline.execute`, so
in-process mode and distributed mode run the same actor code.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Protocol


class Dispatcher(Protocol):
    """Delivers a run to whatever executes it (inline deque, or a Dramatiq actor)."""

    def send(self, stage: str, run_id: int) -> None: ...


class InlineDispatcher:
    """Runs sent runs in this process, in the order they were sent (breadth-first)."""

    def __init__(self) -> None:
        self.queue: deque[tuple[str, int]] = deque()
        self.sent: list[tuple[str, int]] = []

    def send(self, stage: str, run_id: int) -> None:
        """Queue a run; :meth:`drain` executes it."""
        self.queue.append((stage, run_id))
        self.sent.append((stage, run_id))

    def drain(self, execute: Callable[[str, int], Any]) -> None:
        """Execute queued runs (and the runs they create) until none is left."""
        while self.queue:
            stage, run_id = self.queue.popleft()
            execute(stage, run_id)


class ActorDispatcher:
    """Sends each run as a message to the actor of its stage."""

    def __init__(self, actors: dict[str, Any]) -> None:
        self.actors = actors

    def send(self, stage: str, run_id: int) -> None:
        """Enqueue ``run_id`` on the stage's actor."""
        self.actors[stage].send(run_id)
