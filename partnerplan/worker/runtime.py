"""Building a :class:`~partnerplan.worker.pipeline.Context` from the environment and config.

Worker processes started by Dramatiq get their configuration the same way the CLI does:
``PARTNERPLAN_CONFIG`` (or ``./config``), ``DATABASE_URL`` and ``REDIS_URL``.
"""

from __future__ import annotations

import os
from pathlib import Path

from partnerplan.config import config_dir
from partnerplan.plans.db import make_engine
from partnerplan.worker.pipeline import Context, Dispatcher, NullObserver, Observer
from partnerplan.worker.project import load_project


def build_context(
    dispatcher: Dispatcher,
    *,
    config: Path | None = None,
    database_url: str | None = None,
    observer: Observer | None = None,
) -> Context:
    """Load and validate the config, open the store, and wire the dispatcher.

    An inline dispatcher means no broker will retry a failed run, so it fails on its first try.
    """
    from partnerplan.worker.dispatch import InlineDispatcher
    from partnerplan.worker.pipeline import MAX_ATTEMPTS

    project = load_project(config_dir(config))
    url = database_url or os.environ.get("DATABASE_URL") or project.settings.database_url
    return Context(
        project=project,
        engine=make_engine(url),
        dispatcher=dispatcher,
        observer=observer or NullObserver(),
        max_attempts=1 if isinstance(dispatcher, InlineDispatcher) else MAX_ATTEMPTS,
    )


def redis_url(explicit: str | None = None, settings_url: str | None = None) -> str | None:
    """``explicit``, else ``REDIS_URL``, else settings.yaml's; None means in-process mode."""
    return explicit or os.environ.get("REDIS_URL") or settings_url or None
