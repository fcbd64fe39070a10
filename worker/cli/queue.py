"""The Redis side of the CLI: a context whose dispatcher sends runs to the workers' actors."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def broker_context(config: Path | None, database_url: str | None) -> tuple[Any, str]:
    """The Redis broker's context (runs sent as messages) and the Redis URL."""
    from partnerplan.config import config_dir
    from partnerplan.errors import ConfigurationError
    from worker.broker import ActorSet, redis_broker
    from worker.project import load_project
    from worker.runtime import build_context, redis_url

    project = load_project(config_dir(config))
    url = redis_url(settings_url=project.settings.redis_url)
    if not url:
        raise ConfigurationError("REDIS_URL is not set; `enqueue` needs the Redis queue")
    broker = redis_broker(url)
    actors = ActorSet(broker, lambda d: build_context(d, config=config, database_url=database_url))
    return actors.context(), url
