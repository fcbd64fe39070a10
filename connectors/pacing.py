"""Pacing: every CRM call waits its turn under the CRM's published limits before it is sent.

A CRM's rate limits are per token (HubSpot) or per org (Salesforce), not per process: every
stream thread and every worker process that holds the same token draws on one allowance. So
the counting lives in a Dramatiq rate-limiter backend shared by all of them —
:class:`~dramatiq.rate_limits.backends.StubBackend` for one process (the default),
:class:`~dramatiq.rate_limits.backends.RedisBackend` when the workers run distributed — and
the keys name the token only by a digest (:func:`pace_key`), never the token itself.

Three kinds of limit, each on one of Dramatiq's limiters:

* **A rate** (:class:`Rate`: at most ``calls`` per ``seconds``, e.g. HubSpot's 190 per rolling
  10 s, or search's 5 per second). A :class:`~dramatiq.rate_limits.BucketRateLimiter` with a
  limit of 1 over buckets of ``interval`` milliseconds spaces the calls evenly: one call per
  bucket, whoever asks. Worst case: any span of ``T`` seconds touches at most
  ``ceil(T / interval) + 1`` buckets, so it holds at most that many calls, however the server
  aligns its rolling window and whichever process sent them. With ``interval = seconds /
  (calls * margin)`` that is about ``calls * margin + 1`` per window: at most 171 of HubSpot's
  190 per 10 s (ample room for the request's travel time). Search's 5 per second leaves little
  room: at 90 % (4.5 a second) a sixth call lands within one second when a call reaches the
  CRM a ninth of a second later than its bucket's start, so HubSpot's search is paced at 80 %
  by default (one call every 250 ms), which takes a quarter-second delay (``search_margin:
  0.9`` passed the pacing tests on a loaded machine too; it is the faster, thinner choice).
  A call that counts under two rates (a HubSpot search: the
  window and search's own) takes its turns in order, strictest last, so the strict turn is
  spent at once; the earlier turn may be spent late by the wait for the later one, which adds
  at most one call per caller waiting so (one per stream thread, across processes) to the
  window's ``calls * margin + 1``: at HubSpot's 190 that leaves room for 18 such streams.
  A window limiter over whole seconds
  (:class:`~dramatiq.rate_limits.WindowRateLimiter`) was the other candidate; its one-second
  granularity lets a full allowance out in the first second of a window and the next one in
  the first second of the following window, a burst the CRM's rolling window refuses.
* **In flight** (Salesforce's concurrent long-running limit): a
  :class:`~dramatiq.rate_limits.ConcurrentRateLimiter` holds a slot for the duration of the
  call. A process that dies holding one leaks it until the key's TTL (twice the call
  timeout) lapses without any traffic on the key.
* **A cool-down**: a 429 that still arrives (another integration on the same portal, a lower
  tier than configured) is honoured by the retry policy, and :meth:`Pacer.cool_down` sets a
  shared key for the pause the CRM asked for, which every pacer on the same token waits out
  before its next call: the whole pace slows, not only the call that was refused. The thread
  that was refused waits through its retry policy (which waits at least that long) and is
  not held a second time while the pause it set lasts.

Waiting polls the backend at the next bucket boundary (rates) or every few milliseconds
(slots, cool-down); the backends offer no blocking wait for these limiters.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Literal

import redis
from dramatiq.rate_limits import BucketRateLimiter, ConcurrentRateLimiter, RateLimiterBackend
from dramatiq.rate_limits.backends import RedisBackend, StubBackend

from connectors.errors import PaceUnavailable
from partnerplan.errors import ConfigurationError
from partnerplan.logs import get_logger

log = get_logger(__name__)
BackendName = Literal["auto", "memory", "redis"]
"""Where the pace is kept: ``memory`` (this process), ``redis`` (``REDIS_URL``, every worker),
``auto`` (Redis when ``REDIS_URL`` is set, as it is for distributed workers)."""
POLL_SECONDS = 0.02
"""How often a caller waiting for an in-flight slot or a cool-down asks again."""
_backends: dict[str, RateLimiterBackend] = {}
_backends_lock = threading.Lock()


def pace_key(kind: str, *identity: str) -> str:
    """The backend key prefix of one token / org: a digest, so no secret reaches Redis or logs.

    Args:
        kind: The CRM kind (keeps two CRMs apart).
        identity: What identifies the allowance: the API host and the token (HubSpot), the
            instance URL (Salesforce).
    """
    digest = hashlib.sha256("\0".join(identity).encode()).hexdigest()[:20]
    return f"partnerplan:pace:{kind}:{digest}"


def backend_for(name: BackendName, redis_url: str | None = None) -> RateLimiterBackend:
    """The process's shared backend for ``name``: one per process and Redis URL.

    Every connector of the same token in this process gets the same backend, so two
    connectors (or two stream threads) never count apart.

    Raises:
        ConfigurationError: ``redis`` was asked for and no Redis URL is known.
    """
    url = redis_url or os.environ.get("REDIS_URL") or None
    if name == "memory" or (name == "auto" and url is None):
        url = None
    elif url is None:
        raise ConfigurationError(
            "rate_limits_backend is 'redis' but REDIS_URL is not set; set REDIS_URL to the "
            "workers' Redis, or use 'auto'"
        )
    slot = url or "memory"
    with _backends_lock:
        if slot not in _backends:
            # Dramatiq's limiters and backends carry no annotations (here and below).
            _backends[slot] = (
                StubBackend()  # type: ignore[no-untyped-call]
                if url is None
                else RedisBackend(url=url)
            )
        return _backends[slot]


def forget_memory() -> None:
    """Start this process's in-memory pace afresh (tests: a cool-down is not the next test's)."""
    with _backends_lock:
        _backends.pop("memory", None)


@dataclass(frozen=True)
class Rate:
    """At most ``calls`` per ``seconds`` (a CRM's published figure), paced at ``margin`` of it.

    Attributes:
        name: What the rate is called in the keys and the logs (``window``, ``search``).
        calls: The CRM's allowance per window.
        seconds: The window's length.
        margin: The share of the allowance to aim at (the rest absorbs clock and travel time).
    """

    name: str
    calls: int
    seconds: float
    margin: float = 0.9

    @property
    def interval_ms(self) -> int:
        """Milliseconds between two calls (one Dramatiq bucket each)."""
        return max(1, math.ceil(self.seconds * 1000 / (self.calls * self.margin)))

    @property
    def per_second(self) -> float:
        """Calls per second this rate lets out at most."""
        return 1000 / self.interval_ms


class Pacer:
    """Holds one token's / org's calls to its CRM's limits, across threads and processes.

    Args:
        backend: The shared Dramatiq rate-limiter backend (:func:`backend_for`).
        key: The token's key prefix (:func:`pace_key`).
        rates: The rates a call may draw on, by name; a call names the ones it counts in.
        in_flight: At most this many calls at once on the key, across processes; None: no limit.
        slot_ttl_seconds: How long an in-flight count outlives the last call that touched it.
        sleep: How to wait (tests pass a recorder).
    """

    def __init__(
        self,
        backend: RateLimiterBackend,
        key: str,
        rates: Sequence[Rate] = (),
        *,
        in_flight: int | None = None,
        slot_ttl_seconds: float = 300,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.backend = backend
        self.key = key
        self.rates = {rate.name: rate for rate in rates}
        self.sleep = sleep
        self._buckets = {
            rate.name: BucketRateLimiter(  # type: ignore[no-untyped-call]
                backend, f"{key}:{rate.name}", limit=1, bucket=rate.interval_ms
            )
            for rate in rates
        }
        self._slots = (
            ConcurrentRateLimiter(  # type: ignore[no-untyped-call]
                backend, f"{key}:in-flight", limit=in_flight, ttl=int(slot_ttl_seconds * 1000)
            )
            if in_flight
            else None
        )
        self._cool_key = f"{key}:cool-down"
        self._lock = threading.Lock()
        self._local = threading.local()
        self.waited = 0.0
        """Seconds callers of this pacer spent waiting for their turn, in all."""

    def __repr__(self) -> str:
        return f"Pacer(key={self.key!r}, rates={list(self.rates.values())!r})"

    @contextmanager
    def call(self, *rates: str) -> Iterator[None]:
        """Wait for a turn under the cool-down, each named rate and an in-flight slot; then
        hold the slot while the body (the call) runs.

        Name the strictest rate last: turns are taken in order, and a turn taken early then
        held up by the next rate's wait is spent late, which is what brings a rolling window
        over (see the module docstring).
        """
        started = time.monotonic()
        try:
            if time.monotonic() >= getattr(self._local, "excused_until", 0.0):
                self._cooled()  # else this thread's retry policy waits out the cool-down it set
            for name in rates:
                self._turn(name)
        except redis.RedisError as exc:
            raise PaceUnavailable(
                f"the pace shared through Redis is unavailable ({exc.__class__.__name__}); "
                f"check that the Redis of REDIS_URL is up"
            ) from exc
        if self._slots is None:
            self._count(started)
            yield
            return
        while True:
            slot = self._slots.acquire(raise_on_failure=False)
            try:
                acquired = slot.__enter__()
            except redis.RedisError as exc:
                raise PaceUnavailable(
                    f"the in-flight slots shared through Redis are unavailable "
                    f"({exc.__class__.__name__}); check that the Redis of REDIS_URL is up"
                ) from exc
            if acquired:
                self._count(started)
                try:
                    yield
                finally:
                    self._give_back(slot)
                return
            self.sleep(POLL_SECONDS)

    def _give_back(self, slot: AbstractContextManager[bool]) -> None:
        """Release a slot; a Redis failure here is logged, not raised: the call itself is
        done, and raising would have it sent again (the slot lapses with its key's TTL)."""
        try:
            slot.__exit__(None, None, None)
        except redis.RedisError as exc:
            log.warning("crm_pace_slot_lost", pace=self.key, error=exc.__class__.__name__)

    def cool_down(self, seconds: float, reason: str) -> None:
        """Make every pacer on this key wait ``seconds`` before its next call (a 429 came).

        Args:
            seconds: The pause the CRM asked for (Retry-After, or its window's length).
            reason: What the CRM said (its policy name), for the log; never a credential.
        """
        ttl = max(1, int(seconds * 1000))
        self._local.excused_until = time.monotonic() + seconds
        self.backend.incr(self._cool_key, 1, maximum=2**62, ttl=ttl)  # type: ignore[no-untyped-call]
        log.warning("crm_pace_cool_down", pace=self.key, seconds=seconds, reason=reason)

    def cooling(self) -> bool:
        """Whether a cool-down is in force on this key.

        The backends expose no read, so this asks to add nothing under a maximum of 0: refused
        exactly when the cool-down counter is set.
        """
        refused = not self.backend.incr(self._cool_key, 0, maximum=0, ttl=1)  # type: ignore[no-untyped-call]
        return refused

    def _cooled(self) -> None:
        while self.cooling():
            self.sleep(POLL_SECONDS)

    def _turn(self, name: str) -> None:
        bucket = self._buckets[name]
        interval = self.rates[name].interval_ms
        while True:
            with bucket.acquire(raise_on_failure=False) as acquired:
                if acquired:
                    return
            now_ms = time.time() * 1000
            self.sleep((interval - now_ms % interval + 1) / 1000)

    def _count(self, started: float) -> None:
        with self._lock:
            self.waited += time.monotonic() - started
