"""The metric catalogue: standard partner metrics shipped as data, plus ``config/metrics.yaml``.

A metric is declared, not coded: which activity kinds it reads, which statuses and attributes
filter them, which date buckets an activity into a period (its *date basis*), and how the
activities are aggregated (count, sum, avg, min, max, count_distinct, median, a ratio of two
metrics, or the average duration between two dates). The engine turns each declaration into one
grouped SQL aggregate. ``config/metrics.yaml`` adds custom metrics in the same form; a custom
metric with a standard key replaces the standard one.

A metric's *version* is a hash of its declaration (and of its ratio components), stored with each
progress row, so a changed definition is visible on the CRM record and recomputes the progress.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from pydantic import Field, model_validator

from partnerplan.config import Document, StrictModel, parse, validate
from partnerplan.errors import Problem

STANDARD_FILE = Path(__file__).resolve().parent / "metrics.yaml"
DATE_COLUMNS = ("occurred_on", "created_at", "closed_at")
"""Date bases stored as activity columns; any other date basis names an activity attribute."""


class Aggregate(StrEnum):
    """How a metric combines its activities into one number per partner and period."""

    count = "count"  # type: ignore[assignment]  # the YAML word; shadows str.count harmlessly
    sum = "sum"
    avg = "avg"
    min = "min"
    max = "max"
    count_distinct = "count_distinct"
    median = "median"
    ratio = "ratio"
    duration = "duration"


class Unit(StrEnum):
    """What a metric's value measures; ``percent`` values run 0-100."""

    money = "money"
    count = "count"  # type: ignore[assignment]  # the YAML word; shadows str.count harmlessly
    percent = "percent"
    days = "days"
    ratio = "ratio"
    number = "number"


class Direction(StrEnum):
    """Whether more is better (revenue) or less is better (days to approval)."""

    higher = "higher"
    lower = "lower"  # type: ignore[assignment]  # the YAML word; shadows str.lower harmlessly


class Window(StrEnum):
    """``period``: activities dated inside the period; ``cumulative``: dated before its end."""

    period = "period"
    cumulative = "cumulative"


class NotFilter(StrictModel):
    """Attribute is absent or differs from every listed value."""

    not_: str | list[str] = Field(alias="not")


class PresentFilter(StrictModel):
    """Attribute is (``true``) or is not (``false``) set."""

    present: bool


FilterValue = str | list[str] | NotFilter | PresentFilter
"""An attribute filter: a value, a list (any of), ``{not: ...}`` or ``{present: bool}``."""


def plain_filter(value: FilterValue) -> Any:
    """A filter as plain JSON: ``"x"``, ``["x", "y"]``, ``{"not": ...}``, ``{"present": b}``."""
    if isinstance(value, NotFilter | PresentFilter):
        return value.model_dump(by_alias=True)
    return value


def _attribute(name: str) -> str:
    return name.removeprefix("attributes.")


class Metric(StrictModel):
    """One metric declaration (the YAML form is documented in ``plans/metrics.yaml``)."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=200)
    label: str
    category: str
    description: str
    kinds: list[str] = Field(default_factory=list)
    aggregate: Aggregate
    field: str | None = None
    start: str | None = None
    end: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    status: list[str] | None = None
    filters: dict[str, FilterValue] = Field(default_factory=dict)
    date_basis: str = "occurred_on"
    window: Window = Window.period
    unit: Unit
    direction: Direction = Direction.higher

    @model_validator(mode="after")
    def _check_shape(self) -> Self:
        agg = self.aggregate
        if agg is Aggregate.ratio:
            if not (self.numerator and self.denominator):
                raise ValueError("a ratio metric needs numerator and denominator (metric keys)")
            return self
        if not self.kinds:
            raise ValueError("kinds is missing; list the activity kinds the metric reads")
        if agg is Aggregate.duration and not (self.start and self.end):
            raise ValueError("a duration metric needs start and end (date names)")
        needs_field = (Aggregate.sum, Aggregate.avg, Aggregate.min, Aggregate.max)
        if agg in (*needs_field, Aggregate.median) and self.field is None:
            raise ValueError(f"a {agg} metric needs field: amount or attributes.NAME")
        if agg is Aggregate.count_distinct and not (self.field or "").startswith("attributes."):
            raise ValueError("count_distinct needs field: attributes.NAME")
        if self.field not in (None, "amount") and not self.field.startswith("attributes."):
            raise ValueError(f"field {self.field!r} is unknown; use amount or attributes.NAME")
        if self.field == "amount" and self.unit is not Unit.money:
            raise ValueError("a metric over amount has unit money")
        return self

    @property
    def is_money(self) -> bool:
        """Whether values are amounts that need a currency."""
        return self.unit is Unit.money

    @property
    def is_additive(self) -> bool:
        """Whether the value accumulates through the period (so it can be paced and phased)."""
        return self.window is Window.period and self.aggregate in (
            Aggregate.count,
            Aggregate.sum,
            Aggregate.count_distinct,
        )

    def plain_filters(self) -> dict[str, Any]:
        """The attribute filters as plain JSON data (the form targets store)."""
        return {k: plain_filter(v) for k, v in self.filters.items()}

    def date_source(self, name: str | None = None) -> tuple[str, str]:
        """``("column", col)`` or ``("attribute", name)`` for a date name (default: date basis)."""
        name = name or self.date_basis
        if name in DATE_COLUMNS:
            return "column", name
        return "attribute", _attribute(name)


class MetricsFile(StrictModel):
    """A metrics file: the shipped catalogue or ``config/metrics.yaml``."""

    version: int = 1
    metrics: list[Metric] = Field(default_factory=list)


class Catalogue:
    """The metrics by key, with the hash ("version") of each definition."""

    def __init__(self, metrics: dict[str, Metric], standard: set[str]) -> None:
        self.metrics = metrics
        self.standard = standard
        self._versions: dict[str, str] = {}

    def __contains__(self, key: object) -> bool:
        return key in self.metrics

    def __getitem__(self, key: str) -> Metric:
        return self.metrics[key]

    def __len__(self) -> int:
        return len(self.metrics)

    def __iter__(self) -> Iterator[str]:
        return iter(self.metrics)

    def keys(self) -> list[str]:
        """Metric keys in catalogue order."""
        return list(self.metrics)

    def components(self, key: str) -> list[Metric]:
        """The metrics that must be evaluated in SQL to compute ``key``."""
        metric = self.metrics[key]
        if metric.aggregate is Aggregate.ratio:
            assert metric.numerator and metric.denominator
            return [self.metrics[metric.numerator], self.metrics[metric.denominator]]
        return [metric]

    def version(self, key: str) -> str:
        """A short hash of the definition; changes when the metric (or a component) changes."""
        if key in self._versions:
            return self._versions[key]
        metric = self.metrics[key]
        payload: dict[str, Any] = {"self": metric.model_dump(mode="json", by_alias=True)}
        if metric.aggregate is Aggregate.ratio:
            payload["parts"] = [
                m.model_dump(mode="json", by_alias=True) for m in self.components(key)
            ]
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        self._versions[key] = hashlib.sha256(text.encode()).hexdigest()[:16]
        return self._versions[key]


def _load_file(path: Path) -> tuple[Document, MetricsFile | None]:
    doc = parse(path)
    return doc, validate(doc, MetricsFile)


def _check_ratios(
    metrics: dict[str, Metric], where: dict[str, tuple[Document, int]]
) -> list[Problem]:
    problems: list[Problem] = []
    for key, metric in metrics.items():
        if metric.aggregate is not Aggregate.ratio:
            continue
        doc, index = where[key]
        for part in ("numerator", "denominator"):
            ref = getattr(metric, part)
            other = metrics.get(ref)
            if other is None:
                problems.append(
                    doc.problem(("metrics", index, part), f"unknown metric {ref!r}; declare it")
                )
            elif other.aggregate is Aggregate.ratio:
                problems.append(
                    doc.problem(
                        ("metrics", index, part),
                        f"{ref!r} is itself a ratio; a ratio's parts must be plain metrics",
                    )
                )
    return problems


def load_catalogue(config_dir: Path | None) -> tuple[Catalogue | None, list[Problem]]:
    """The shipped standard metrics plus ``config_dir/metrics.yaml`` (custom or overriding)."""
    problems: list[Problem] = []
    metrics: dict[str, Metric] = {}
    where: dict[str, tuple[Document, int]] = {}
    files = [STANDARD_FILE]
    custom = config_dir / "metrics.yaml" if config_dir is not None else None
    if custom is not None and custom.exists():
        files.append(custom)
    standard: set[str] = set()
    for path in files:
        doc, loaded = _load_file(path)
        problems.extend(doc.problems)
        if loaded is None:
            continue
        seen: set[str] = set()
        for index, metric in enumerate(loaded.metrics):
            if metric.key in seen:
                problems.append(
                    doc.problem(("metrics", index, "key"), f"metric {metric.key!r} declared twice")
                )
            seen.add(metric.key)
            metrics[metric.key] = metric
            where[metric.key] = (doc, index)
            if path == STANDARD_FILE:
                standard.add(metric.key)
    problems.extend(_check_ratios(metrics, where))
    if any(p.severity == "error" for p in problems):
        return None, problems
    return Catalogue(metrics, standard), problems
