"""The progress display: one line per stream, retries shown on it, nothing off a terminal."""

from __future__ import annotations

import contextlib
import io

from rich.console import Console

from connectors.retry import RetryPolicy
from partnerplan.errors import RateLimited, RetriableError
from partnerplan.logs import bind_run
from worker.cli.progress import BarObserver, NoBars, observer_for, progress_bars


def test_no_bars_when_stderr_is_not_a_terminal():
    """Off a terminal the display is disabled and the observer draws nothing."""
    console = Console(file=io.StringIO(), force_terminal=False)
    assert isinstance(observer_for(progress_bars(console)), NoBars)


def test_a_retry_shows_on_the_line_of_the_stream_being_synced():
    """A retry inside a stream's run shows attempt, wait and reason on that stream's line."""
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    progress = progress_bars(console)
    observer = BarObserver(progress)
    observer.stream_started("hs_deals")
    with bind_run(7, "sync_stream", "hs_deals"):
        observer.retry(2, 4.0, "HubSpot answered 429 TEN_SECONDLY_ROLLING")
    note = progress.tasks[0].fields["note"]
    assert "retry 2, waiting 4 s: HubSpot answered 429 TEN_SECONDLY_ROLLING" == note


def test_the_retry_policy_tells_each_retry_and_stops_within_its_budget():
    """on_retry hears every retry with its error; give_up_after ends the retries early."""
    heard: list[tuple[int, float, str]] = []
    calls = []

    def flaky() -> None:
        calls.append(1)
        raise RateLimited("slow down", retry_after=2)

    policy = RetryPolicy(
        attempts=5,
        sleep=lambda _s: None,
        on_retry=lambda attempt, wait, error: heard.append((attempt, wait, str(error))),
    )
    with contextlib.suppress(RetriableError):
        policy.call(flaky)
    budgeted = RetryPolicy(attempts=50, backoff=30, sleep=lambda _s: None, give_up_after=10)
    with contextlib.suppress(RetriableError):
        budgeted.call(flaky)
    assert [(1, 2.0, "slow down"), (2, 2.0, "slow down")] == heard[:2]
    assert (4, 5 + 1) == (len(heard), len(calls))  # 4 retries of 5 calls; the budget: 1 call
