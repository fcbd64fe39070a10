"""Building a :class:`~worker.pipeline.Context` from the environment and config.

Worker processes started by Dramatiq get their configuration the same way the CLI does:
``PARTNERPLAN_CONFIG`` (or ``./config``), ``DATABASE_URL`` and ``REDIS_URL``.
"""

from __future__ import annotations

import ctypes
import gc
import os
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from connectors.base import Connector
from connectors.crms import REGISTRY
from connectors.retry import RetryPolicy
from connectors.settings import SourceSettings
from partnerplan.config import config_dir
from plans.db import make_engine
from worker import metrics
from worker.describes import share_describes
from worker.dispatch import Dispatcher, InlineDispatcher
from worker.pipeline import MAX_ATTEMPTS, Context, NullObserver, Observer
from worker.project import load_project
from worker.settings import Settings

RetryListener = Callable[[int, float, BaseException | None], None]
"""Told of each retried CRM call: (attempt, wait in seconds, the error)."""


def retry_policy(
    settings: Settings, source: str, kind: str, show: RetryListener | None = None
) -> RetryPolicy:
    """The retry budget of settings.yaml's ``retries:``; each retry is counted, and shown."""

    def on_retry(attempt: int, wait: float, error: BaseException | None) -> None:
        metrics.count_retry(source, kind, error)
        if show is not None:
            show(attempt, wait, error)

    budget = settings.retries
    return RetryPolicy(
        attempts=budget.attempts,
        backoff=budget.first_wait_seconds,
        max_backoff=budget.max_wait_seconds,
        give_up_after=budget.give_up_after_seconds,
        on_retry=on_retry,
    )


def build_context(
    dispatcher: Dispatcher,
    *,
    config: Path | None = None,
    database_url: str | None = None,
    observer: Observer | None = None,
    show_retry: RetryListener | None = None,
) -> Context:
    """Load and validate the config, open the store, and wire the dispatcher.

    The store also becomes the process's shared layer of CRM describes
    (:mod:`worker.describes`): a run started by cron does not ask again for a describe that a
    run before it fetched within ``schema_cache_seconds``.

    An inline dispatcher means no broker will retry a failed run, so it fails on its first try.
    Connectors retry within the budget of settings.yaml's ``retries:``; ``show_retry`` is told
    of each retry (the CLI shows it on the stream's progress line).
    """
    project = load_project(config_dir(config))
    url = database_url or os.environ.get("DATABASE_URL") or project.settings.database_url

    def connect(name: str, source: SourceSettings) -> Connector:
        policy = retry_policy(project.settings, name, source.type, show_retry)
        return REGISTRY.connect(name, source, policy)

    limit_malloc_arenas()
    engine = make_engine(url)
    share_describes(engine)  # describes fetched by an earlier process are reused from the store
    return Context(
        project=project,
        engine=engine,
        dispatcher=dispatcher,
        connector_factory=connect,
        observer=observer or NullObserver(),
        max_attempts=1 if isinstance(dispatcher, InlineDispatcher) else MAX_ATTEMPTS,
    )


def redis_url(explicit: str | None = None, settings_url: str | None = None) -> str | None:
    """``explicit``, else ``REDIS_URL``, else settings.yaml's; None means in-process mode."""
    return explicit or os.environ.get("REDIS_URL") or settings_url or None


GC_THRESHOLDS = (10_000, 10, 10)
"""Young-generation threshold raised from CPython's 700 allocations; the older two unchanged."""


@cache
def settle_heap() -> None:
    """Keep the garbage collector off what a run loaded up front, and off every page's records.

    Called once per process, after the config, mappings and store are loaded: those live as
    long as the process, and frozen, the collector's full passes skip them. A sync allocates a
    page of records, rows and activities at a time (tens of thousands of containers that live
    until the page is stored, then go by reference counting); with CPython's default
    thresholds each page set off dozens of young collections that promoted it to the old
    generation, and every few pages a full pass over the whole heap. Measured on
    ``partnerplan run --full`` at scale 100 (SQLite, 4 runs each): 0.9-1.5 s of 9-10 s of CPU
    in the collector, 0.2-0.5 s after.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


MALLOC_ARENAS = 2
"""C heap arenas a process keeps (glibc's default: 8 per core), one per core of a small host."""
_M_ARENA_MAX = -8
"""glibc's ``mallopt`` parameter number for the arena cap (``malloc.h``)."""


def limit_malloc_arenas(libc: Any | None = None, environ: Mapping[str, str] = os.environ) -> bool:
    """Cap the C heap at :data:`MALLOC_ARENAS` arenas, so a sync's memory stays flat in its size.

    glibc gives each thread that allocates concurrently an arena of its own, up to 8 per
    core. A sync runs a thread per stream lane and a prefetch thread per stream; SQLite's page
    caches, the drivers' buffers and CPython's large objects land in whichever arena the
    thread holds, and the pages those arenas free between pages are kept, not returned.
    Measured on ``partnerplan run --full`` (SQLite, no latency): the sync alone held 230 MiB
    at scale 200 and 266 MiB at scale 1000, still climbing as the streams went on, with 57 MiB
    free inside the arenas; capped at 2 arenas the same sync stayed flat at about 230 MiB
    (20 MiB free). Returns whether the cap was set: not when the operator set
    ``MALLOC_ARENA_MAX`` (theirs is kept) or the C library is not glibc (no ``mallopt``).
    """
    if environ.get("MALLOC_ARENA_MAX"):
        return False
    if libc is None:
        try:
            libc = ctypes.CDLL(None)
        except OSError:  # pragma: no cover - a process always has a C library loaded
            return False
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None or not hasattr(libc, "gnu_get_libc_version"):
        return False  # musl, macOS: their allocators take no such cap
    return bool(mallopt(_M_ARENA_MAX, MALLOC_ARENAS))
