"""``config/settings.yaml``: where the store is, which CRMs are sources, schedules, thresholds.

Each CRM declares its own source model (``connectors/<crm>/settings.py``); :func:`settings_model`
gathers the registered ones into the ``sources:`` of this file, so that a CRM added to the
registry is accepted here without editing a union by hand.
"""

from __future__ import annotations

import operator
from functools import cache, reduce
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import Field, create_model, field_validator

from connectors.crms import REGISTRY
from connectors.registry import Registry
from connectors.settings import SourceSettings
from partnerplan.config import StrictModel

CRON_FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day of month", "1-31"),
    ("month", "1-12 or jan-dec"),
    ("day of week", "0-6 or sun-sat"),
)


def cron_problem(expression: str) -> str | None:
    """What is wrong with a cron expression, naming the field and its range; None if valid."""
    fields = expression.split()
    if len(fields) != len(CRON_FIELDS):
        names = " ".join(name.replace(" ", "-") for name, _ in CRON_FIELDS)
        return (
            f"cron expression {expression!r} has {len(fields)} field(s); write 5 ({names}), "
            "e.g. '*/15 * * * *'"
        )
    if croniter.is_valid(expression):
        return None
    for index, (name, allowed) in enumerate(CRON_FIELDS):
        alone = ["*"] * len(CRON_FIELDS)
        alone[index] = fields[index]
        if not croniter.is_valid(" ".join(alone)):
            return (
                f"cron expression {expression!r}: the {name} field {fields[index]!r} is not "
                f"valid; it takes {allowed}, lists (1,5), ranges (1-5) and steps (*/15)"
            )
    return f"cron expression {expression!r} is not valid"  # pragma: no cover - fields all pass


class Schedule(StrictModel):
    """A cron expression and what it triggers: a source's sync, one stream, or a recompute."""

    cron: str
    source: str | None = None
    stream: str | None = None
    action: Literal["sync", "recompute", "push"] = "sync"

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        problem = cron_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class StatusThresholds(StrictModel):
    """Attainment-to-pace ratios below which a target is at risk / off track."""

    on_track: float = Field(default=0.9, gt=0)
    at_risk: float = Field(default=0.7, gt=0)


class Retries(StrictModel):
    """How long a CRM call that fails for a transient reason is retried (the retry budget)."""

    attempts: int = Field(default=6, ge=1, le=20)
    """Tries per call, the first included."""
    first_wait_seconds: float = Field(default=1.0, ge=0)
    """The pause before the first retry; each further one doubles it (up to the cap)."""
    max_wait_seconds: float = Field(default=30, gt=0)
    """Cap on one backoff pause (a CRM's own Retry-After is honoured whatever its length)."""
    give_up_after_seconds: float = Field(default=90, gt=0)
    """Seconds one call may spend retrying in all before the stream fails."""


class Settings(StrictModel):
    """The whole of ``settings.yaml``; validate through :func:`settings_model`."""

    version: Literal[1] = 1
    database_url: str | None = None
    redis_url: str | None = None
    reporting_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    schedules: list[Schedule] = Field(default_factory=list)
    status_thresholds: StatusThresholds = StatusThresholds()
    stale_after_minutes: int = Field(default=120, gt=0)
    """A stream whose last successful sync is older than this is shown as stale."""
    history_retention_days: int = Field(default=400, ge=1)
    """Days after a period ends that its daily progress snapshots are kept; then only its
    closing values stay."""
    retries: Retries = Retries()
    max_quarantined_share: float = Field(default=0.1, ge=0, le=1)
    """A sync fails when more than this share of its stream's records wait in quarantine;
    fewer quarantined records make it "succeeded with warnings" (:mod:`worker.verdict`)."""
    timezone: str = "UTC"
    """The time zone the schedules' cron expressions are read in (an IANA name)."""
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    """The port of ``/metrics`` and ``/healthz`` (worker and scheduler); None: their default."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'Europe/Paris' or "
                "'America/New_York'"
            ) from None
        return value

    def kinds(self) -> dict[str, str]:
        """Each source's CRM kind."""
        return {name: source.type for name, source in self.sources.items()}


def settings_model(registry: Registry = REGISTRY) -> type[Settings]:
    """:class:`Settings` whose ``sources:`` accepts every CRM the registry holds, by ``type``."""
    return _settings_model(registry.settings_models())


@cache
def _settings_model(models: tuple[type[SourceSettings], ...]) -> type[Settings]:
    """Built once per set of CRMs: pydantic tells the models apart by their ``type`` tag."""
    source: Any = models[0]
    if len(models) > 1:
        source = Annotated[reduce(operator.or_, models), Field(discriminator="type")]
    model: type[Settings] = create_model(
        "Settings",
        __base__=Settings,
        __doc__=Settings.__doc__,
        sources=(dict[str, source], Field(default_factory=dict)),
    )
    return model
