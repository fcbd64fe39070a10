"""The pacer: calls spaced under each rate, in-flight slots, a shared cool-down, secret-free keys.

Every test runs on both backends, the in-process stub and Redis (Dramatiq's own pattern):
what holds for threads of one process holds for processes sharing Redis.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from dramatiq.rate_limits import RateLimiterBackend
from dramatiq.rate_limits.backends import RedisBackend, StubBackend

from connectors.errors import PaceUnavailable
from connectors.pacing import Pacer, Rate, backend_for, pace_key
from partnerplan.errors import ConfigurationError

TOKEN = "pat-na1-very-secret-token"


class Spy(RateLimiterBackend):  # type: ignore[misc]  # Dramatiq's base is untyped
    """A backend that records every rate bucket it granted (``key@bucket-start-ms``)."""

    def __init__(self, inner: RateLimiterBackend) -> None:
        self.inner = inner
        self.granted: list[str] = []
        self._lock = threading.Lock()

    def add(self, key: str, value: int, ttl: int) -> bool:
        added = bool(self.inner.add(key, value, ttl))
        if added and "@" in key:
            with self._lock:
                self.granted.append(key)
        return added

    def incr(self, key: str, amount: int, maximum: int, ttl: int) -> bool:
        return bool(self.inner.incr(key, amount, maximum, ttl))

    def decr(self, key: str, amount: int, minimum: int, ttl: int) -> bool:
        return bool(self.inner.decr(key, amount, minimum, ttl))

    def starts(self, prefix: str) -> list[int]:
        """The start (ms) of every bucket granted under ``prefix``, in order."""
        return sorted(int(k.rsplit("@", 1)[1]) for k in self.granted if k.startswith(prefix))


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Spy:
    """Each backend the pacer runs on: this process's memory, and the real Redis."""
    if request.param == "memory":
        return Spy(StubBackend())  # type: ignore[no-untyped-call]
    url = request.getfixturevalue("redis_url")
    return Spy(RedisBackend(url=url))  # type: ignore[no-untyped-call]


@pytest.fixture
def key() -> str:
    """A key of its own per test (Redis outlives the test)."""
    return pace_key("test", uuid.uuid4().hex, TOKEN)


def _run(threads: int, work: Callable[[], None]) -> None:
    started = [threading.Thread(target=work) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()


def test_calls_from_many_threads_are_spaced_one_per_interval(backend, key):
    """24 calls from 6 threads at 20 a second: never two in one interval, never more than the
    window allows in any rolling second."""
    rate = Rate("window", calls=20, seconds=1)
    pacer = Pacer(backend, key, [rate])
    calls = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal calls
        for _ in range(4):
            with pacer.call("window"), lock:
                calls += 1

    _run(6, work)
    starts = backend.starts(key)
    assert 24 == calls == len(starts) == len(set(starts))
    most = max(sum(1 for other in starts if s - 1000 < other <= s) for s in starts)
    assert most < rate.calls


def test_two_pacers_on_one_key_share_the_pace_and_other_keys_do_not(backend, key):
    """Two connectors of one token draw on one allowance; another token has its own."""
    rate = Rate("window", calls=10, seconds=1, margin=1)
    first, second = Pacer(backend, key, [rate]), Pacer(backend, key, [rate])
    other = Pacer(backend, pace_key("test", uuid.uuid4().hex, "another-token"), [rate])

    def work(name: str, pacer: Pacer) -> None:
        for _ in range(3):
            with pacer.call("window"):
                pass

    threads = [
        threading.Thread(target=work, args=(name, pacer))
        for name, pacer in (("a", first), ("b", second), ("c", other))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    shared = backend.starts(key)
    assert 6 == len(shared) == len(set(shared))
    assert 3 == len(backend.starts(other.key))


def test_at_most_in_flight_calls_run_at_once(backend, key):
    """With two in-flight slots, six threads calling at once never have more than two inside."""
    pacer = Pacer(backend, key, in_flight=2)
    inside = 0
    most = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        for _ in range(3):
            with pacer.call():
                with lock:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.02)
                with lock:
                    inside -= 1

    _run(6, work)
    assert 2 == most


def test_a_slot_is_given_back_when_the_call_fails(backend, key):
    """A call that raises frees its slot: the next caller is not held forever."""
    pacer = Pacer(backend, key, in_flight=1)
    with pytest.raises(RuntimeError), pacer.call():
        raise RuntimeError("the CRM hung up")
    with pacer.call():
        pass
    assert not pacer.cooling()


def test_a_cool_down_holds_every_other_caller_of_the_key_until_it_lapses(backend, key):
    """After a 429 on one thread, another pacer of the same token waits; the refused thread,
    whose retry policy waits itself, is not held twice."""
    slept: dict[str, int] = {"refused": 0, "other": 0}

    def counting(name: str):  # type: ignore[no-untyped-def]
        def sleep(seconds: float) -> None:
            slept[name] += 1
            time.sleep(seconds)

        return sleep

    refused = Pacer(backend, key, sleep=counting("refused"))
    other = Pacer(backend, key, sleep=counting("other"))
    refused.cool_down(0.3, "TEN_SECONDLY_ROLLING")
    assert other.cooling()
    with refused.call():
        pass
    assert 0 == slept["refused"]
    with other.call():
        assert not other.cooling()
    assert slept["other"] > 0


def test_the_key_names_the_token_only_by_a_digest(redis_url):
    """Neither the pace's keys in Redis nor its log name the token."""
    url = f"http://sandbox-{uuid.uuid4().hex}.test"
    key = pace_key("hubspot", url, TOKEN)
    assert TOKEN not in key and url not in key
    pacer = Pacer(
        RedisBackend(url=redis_url),  # type: ignore[no-untyped-call]
        key,
        [Rate("window", 10, 1), Rate("search", 5, 1)],
        in_flight=3,
    )
    with pacer.call("window", "search"):
        pacer.cool_down(0.2, "SECONDLY")
    client = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in client.scan_iter(match=f"{key}*")]
    assert keys
    assert not [k for k in keys if TOKEN in k or "secret" in k]


def test_the_backend_is_redis_when_redis_url_is_set_and_shared_in_the_process(
    monkeypatch, redis_url
):
    """``auto`` counts in Redis for distributed workers, in memory otherwise; one per process."""
    assert isinstance(backend_for("auto"), StubBackend)
    assert backend_for("memory") is backend_for("auto")
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert isinstance(backend_for("auto"), RedisBackend)
    assert backend_for("redis") is backend_for("auto")
    assert isinstance(backend_for("memory"), StubBackend)


def test_redis_asked_for_without_a_url_says_how_to_fix_it():
    """``rate_limits_backend: redis`` with no REDIS_URL is a message naming the fix."""
    with pytest.raises(ConfigurationError, match="REDIS_URL is not set"):
        backend_for("redis")


@pytest.mark.parametrize(
    ("rate", "interval", "window_holds"),
    [
        (Rate("window", 190, 10), 59, 171),
        (Rate("search", 5, 1), 223, 6),
        (Rate("search", 5, 1, margin=0.8), 250, 5),
    ],
)
def test_the_interval_keeps_any_window_under_the_published_limit(rate, interval, window_holds):
    """HubSpot's 190 per 10 s paced at 90 % admits at most 171 calls in any 10 s; search at
    80 % at most 5 in any second (at 90 %, 6 only if a call leaves a ninth of a second late)."""
    assert interval == rate.interval_ms
    most = -(-int(rate.seconds * 1000) // rate.interval_ms) + 1
    assert window_holds == most


@pytest.fixture(autouse=True)
def _no_leftover_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("REDIS_URL", raising=False)
    yield


def test_an_unreachable_redis_is_a_retriable_error_and_nothing_is_sent():
    """Redis down: the call is not sent unpaced; a retriable error names what to check."""
    backend = RedisBackend(url="redis://127.0.0.1:1/0")  # type: ignore[no-untyped-call]
    pacer = Pacer(backend, pace_key("test", "down"), [Rate("window", 10, 1)])
    sent = []
    with pytest.raises(PaceUnavailable, match="REDIS_URL"), pacer.call("window"):
        sent.append(1)
    assert [] == sent
