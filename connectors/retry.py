"""Retrying transient CRM failures with tenacity: exponential backoff that honours Retry-After.

Only :class:`~partnerplan.errors.RetriableError` is retried. A
:class:`~partnerplan.errors.RateLimited` error carries the pause the CRM asked for (``Retry-After``,
or HubSpot's ten-secondly window); the policy waits at least that long. Every requested wait is
recorded in :attr:`RetryPolicy.waits`, and the actual sleeping goes through an injectable
``sleep`` so that tests can run a 429 storm in milliseconds while still asserting that the CRM's
requested pauses were honoured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    stop_before_delay,
    stop_never,
)

from partnerplan.errors import RateLimited, RetriableError
from partnerplan.logs import get_logger

T = TypeVar("T")
log = get_logger(__name__)


@dataclass
class RetryPolicy:
    """How often and how long to retry a transient failure.

    Attributes:
        attempts: Total tries per call, the first included.
        backoff: Seconds before the first retry; doubled for each further retry.
        max_backoff: Cap on the exponential backoff (a CRM's own Retry-After is not capped).
        sleep: How to pause; tests pass a no-op and read :attr:`waits`.
        waits: Every pause requested so far, in seconds, in order.
        give_up_after: Seconds one call may spend retrying in all (the retry budget); None
            for no limit beyond ``attempts``.
        on_retry: Told of each retry (attempt, wait in seconds, the error), to show and count it.
    """

    attempts: int = 8
    backoff: float = 1.0
    max_backoff: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    waits: list[float] = field(default_factory=list)
    give_up_after: float | None = None
    on_retry: Callable[[int, float, BaseException | None], None] | None = None

    def wait_for(self, error: BaseException | None, attempt: int) -> float:
        """The pause before retry number ``attempt`` (1-based) after ``error``."""
        backoff: float = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return max(float(error.retry_after), backoff)
        return backoff

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        seconds = self.wait_for(error, state.attempt_number)
        self.waits.append(seconds)
        return seconds

    def _before_sleep(self, state: RetryCallState) -> None:
        """Log and tell of a retry that will happen (not of a wait computed before giving up)."""
        error = state.outcome.exception() if state.outcome else None
        seconds = state.next_action.sleep if state.next_action else 0.0
        log.info(
            "crm_call_retry",
            attempt=state.attempt_number,
            wait_seconds=seconds,
            reason=str(error),
        )
        if self.on_retry is not None:
            self.on_retry(state.attempt_number, seconds, error)

    def call(self, fn: Callable[[], T], give_up_on: tuple[type[BaseException], ...] = ()) -> T:
        """Run ``fn``, retrying it on :class:`RetriableError`; re-raise the last error.

        Args:
            fn: The call.
            give_up_on: Retriable errors the caller recovers from itself (e.g. an expired
                query cursor, which is restarted rather than re-sent).
        """
        retrying = Retrying(
            retry=retry_if_exception_type(RetriableError) & retry_if_not_exception_type(give_up_on),
            stop=stop_after_attempt(self.attempts)
            | (stop_before_delay(self.give_up_after) if self.give_up_after else stop_never),
            wait=self._wait,
            before_sleep=self._before_sleep,
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(fn)
