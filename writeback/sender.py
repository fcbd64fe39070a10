"""Sending one destination's write calls, several at once, each thread on its own connector.

Against a real CRM a write call is a round trip of a few hundred milliseconds, paid in series
when the push sends its batches one after another. :class:`Calls` keeps up to ``width`` of
them in flight (the connector's ``concurrency``, what its CRM's limits let one process run at
once); pacing is shared per token (:mod:`connectors.pacing`), so more calls in flight never
means more calls per window than the CRM allows.

Who does what:

* **The caller's thread** owns the store session: it builds batches, submits them, and applies
  every answer (push states, counters) in :meth:`Calls.submit` / :meth:`Calls.wait` as the
  calls end. No thread but the caller's ever touches the session, so SQLite's single writer
  and the session's own thread-unsafety are not a concern here.
* **Each sending thread** holds one connector for its whole life (``lease``: the worker's
  :meth:`~worker.pipeline.Context.lease`), because a connector's HTTP session, call counts and
  CRM session state are not safe across threads. Its write calls are counted per call (the
  connector's ``usage()`` before and after), so the report's ``write_calls`` is exact however
  the calls were spread.

A call names the partners whose records it touches, and never goes while another call
touching one of them is in flight (see :class:`Calls`).

A call that raises (a 5xx storm outlasting the retries, an expired login) stops the
destination as in a serial push, but only after every call already in flight has ended and
its answer was applied: one batch's failure never loses another's landed records. Nothing is
submitted after it. Ctrl-C in the caller's thread stops the threads taking new calls, waits
up to :data:`GRACE_SECONDS` for those mid-call (daemon threads; an abandoned one applies
nothing) and re-raises.

Without a ``lease`` (or with a width of 1) calls run in the caller's thread on its connector,
one at a time: exactly the serial push.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType

from connectors.base import Connector, WriteResult
from partnerplan.logs import get_logger, redact

log = get_logger(__name__)

Lease = Callable[[], AbstractContextManager[Connector]]
"""A connector of the destination's source for one thread alone, returned when it exits."""
Call = Callable[[Connector], list[WriteResult]]
"""One write call (``upsert`` / ``update`` / ``associate``) made on the connector given."""
Done = Callable[[list[WriteResult]], None]
"""Applies a call's answer; always run in the caller's thread, and never submits a call."""

GRACE_SECONDS = 5.0
"""How long an interrupted push waits for its threads' calls in flight to end."""
_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class _Job:
    """A call to make, what applies its answer, and the partners whose records it touches."""

    call: Call
    done: Done
    partners: frozenset[str]


@dataclass
class _Ended:
    """A call that ended: its answer or its error, and the write calls it made."""

    job: _Job
    results: list[WriteResult] | None
    error: BaseException | None
    write_calls: int


def _make(connector: Connector, job: _Job) -> _Ended:
    """Make a job's call on ``connector``: its answer or its error, and the write calls it took."""
    before = connector.usage().write_calls
    try:
        results: list[WriteResult] | None = job.call(connector)
        error: Exception | None = None
    except Exception as exc:  # applied (raised) in the caller's thread
        results, error = None, exc
    return _Ended(job, results, error, connector.usage().write_calls - before)


class Calls:
    """Up to ``width`` write calls of one destination in flight; see the module docstring.

    A call names the partners whose records it touches; it waits while a call touching one
    of them is in flight, so a partner's records are never in two calls at once (a Salesforce
    child record's lookup to its partner's Account, or the Account's roll-up beside them,
    could otherwise contend for the Account's row lock; assumed, the references are silent).
    Calls of other partners go past it: a partner split across two consecutive batches holds
    back only the second. At most ``width`` calls wait so, beside ``width`` in flight.

    Use as a context manager: leaving it waits for (or, on an interrupt, abandons) the calls
    in flight and ends the threads.
    """

    def __init__(
        self,
        name: str,
        connector: Connector,
        width: int,
        lease: Lease | None,
        threads: str = "push",
    ) -> None:
        """``threads``: the sending threads' name prefix (``<threads>-<name>-<n>``)."""
        self.name = name
        self.threads = threads
        self.connector = connector
        self.width = max(1, width) if lease is not None else 1
        self.lease = lease
        self.write_calls = 0
        """Write calls made through this object so far (every thread's)."""
        self._todo: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._ended: queue.SimpleQueue[_Ended] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._waiting: deque[_Job] = deque()
        self._busy: Counter[str] = Counter()
        self._in_flight = 0
        self._error: BaseException | None = None
        self._reported = False
        self._stop = threading.Event()

    @property
    def threaded(self) -> bool:
        """Whether calls go on leased threads' connectors (else on the caller's, serially)."""
        return self.width > 1

    def __enter__(self) -> Calls:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            try:
                self._drain()
                if not self._reported:
                    self._raise_if_failed()
            finally:
                self._close(GRACE_SECONDS)
            return
        if not issubclass(kind, KeyboardInterrupt):
            try:
                self._drain()  # another error: still apply what landed
            finally:
                self._close(GRACE_SECONDS)
            return
        self._stop.set()
        self._close(GRACE_SECONDS)

    def submit(self, call: Call, done: Done, partners: Iterable[str] = ()) -> None:
        """Send ``call``, applying its answer with ``done`` once it ended (maybe later).

        Blocks while ``width`` calls wait (on a partner in flight, or for a free thread),
        applying the answers that come in.

        Raises:
            BaseException: The error of a call that failed (this one's, inline, or an
                earlier one's), once every call in flight ended and was applied.
        """
        self._raise_if_failed()
        job = _Job(call, done, frozenset(partners))
        if self.width == 1:
            self._apply(_make(self.connector, job))
            self._raise_if_failed()
            return
        self._waiting.append(job)
        self._dispatch()
        while len(self._waiting) > self.width:
            self._apply(self._next())
            self._raise_if_failed()
            self._dispatch()

    def wait(self) -> None:
        """Wait for every call in flight and apply its answer (raises as :meth:`submit`)."""
        self._drain()
        self._raise_if_failed()

    def settle(self) -> None:
        """After the caller stopped on an error: wait for every call in flight and apply its
        answer, raising nothing (the caller reports its error)."""
        self._drain()
        if self._error is not None and not self._reported:
            error = redact(str(self._error))
            log.warning("a write call failed too", destination=self.name, error=error)
        self._reported = True

    def _raise_if_failed(self) -> None:
        """Raise the first failed call's error (once every call in flight was applied)."""
        if self._error is not None:
            self._drain()
            self._reported = True
            raise self._error

    def _dispatch(self) -> None:
        """Send the waiting calls that may go, oldest first: a free thread, none of their
        partners in a call in flight. Nothing more once a call failed."""
        if self._error is not None:
            self._waiting.clear()  # never sent: their records go on the next push
            return
        for job in list(self._waiting):
            if self._in_flight >= self.width:
                return
            if not any(self._busy[p] for p in job.partners):
                self._waiting.remove(job)
                self._send(job)

    def _send(self, job: _Job) -> None:
        if len(self._threads) < self.width and len(self._threads) <= self._in_flight:
            self._start()
        self._busy.update(job.partners)
        self._in_flight += 1
        self._todo.put(job)

    def _drain(self) -> None:
        while True:
            self._dispatch()
            if not self._in_flight:
                return
            self._apply(self._next())

    def _next(self) -> _Ended:
        """The next call to end (polling, so a Ctrl-C reaches this thread between polls)."""
        while True:
            try:
                ended = self._ended.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            self._in_flight -= 1
            self._busy.subtract(ended.job.partners)
            return ended

    def _apply(self, ended: _Ended) -> None:
        self.write_calls += ended.write_calls
        if ended.error is not None:
            if self._error is None:
                self._error = ended.error
            else:
                error = redact(str(ended.error))
                log.warning("another write call failed", destination=self.name, error=error)
            return
        assert ended.results is not None
        ended.job.done(ended.results)

    def _start(self) -> None:
        thread = threading.Thread(
            target=contextvars.copy_context().run,  # the run's log context on every event
            args=(self._serve,),
            name=f"{self.threads}-{self.name}-{len(self._threads)}",
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()

    def _serve(self) -> None:
        """A sending thread: take calls until told to end, on a connector of its own."""
        assert self.lease is not None
        try:
            with self.lease() as connector:
                while (job := self._todo.get()) is not None:
                    if self._stop.is_set():  # interrupted: send nothing more
                        self._ended.put(_Ended(job, None, KeyboardInterrupt(), 0))
                        continue
                    try:
                        ended = _make(connector, job)
                    except BaseException as exc:  # never leave the caller waiting on a call
                        ended = _Ended(job, None, exc, 0)
                    self._ended.put(ended)
        except Exception as exc:  # the lease failed (no connector): fail what comes
            self._fail_rest(exc)

    def _fail_rest(self, exc: Exception) -> None:
        while (job := self._todo.get()) is not None:
            self._ended.put(_Ended(job, None, exc, 0))

    def _close(self, grace: float) -> None:
        for _ in self._threads:
            self._todo.put(None)
        deadline = time.monotonic() + grace
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        left = sum(thread.is_alive() for thread in self._threads)
        if left:
            log.warning("push calls still waiting on the CRM were left behind", threads=left)
