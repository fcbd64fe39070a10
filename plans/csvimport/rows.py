"""Checking one row of a sheet: every problem of every cell, each named by its column.

A row becomes a :class:`Row` when its plan can be told (partner, period, plan key), and carries
a validated :class:`~plans.planspec.TargetSpec` only when no cell has an error. Cells are taken
as text and stay text: nothing in them is expanded or interpreted beyond the column's own rule.
Metrics are matched by key or label, statuses and periods (``2026-q4``) in any capitalisation.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import get_args

from pydantic import ValidationError

from partnerplan.errors import Problem
from plans.catalogue import Catalogue, Unit
from plans.csvimport.decimals import DecimalSeparator, NumberError, parse_number, plain
from plans.csvimport.sheet import REQUIRED, RawRow
from plans.periods import Period, parse_period
from plans.planchecks import percent_fraction, target_key
from plans.planspec import PlanStatus, TargetSpec

STATUSES: tuple[str, ...] = get_args(PlanStatus)
MAX_KEY = {"partner": 200, "plan": 200, "key": 300}
"""The lengths :class:`~plans.planspec.PlanSpec` and ``TargetSpec`` allow."""
_SPEC_COLUMN = {"metric": "metric", "value": "value", "key": "key", "currency": "currency"}
_SPEC_COLUMN |= {"weight": "weight", "filters": "filter"}


@dataclass(frozen=True)
class RowTarget:
    """The target a good row sets: its spec, its key in the plan, and where it goes."""

    spec: TargetSpec
    key: str
    section: str | None
    value_text: str


@dataclass(frozen=True)
class Row:
    """A row whose plan is known: the plan it belongs to, and its target if no cell is bad."""

    line: int
    plan: str
    partner: str
    period: Period
    status: str | None
    owner: str | None
    target: RowTarget | None


class _Cells:
    """Collects one row's problems, each as ``FILE:LINE: column: message``."""

    def __init__(self, source: Path, raw: RawRow) -> None:
        self.raw = raw
        self.source = str(source)
        self.problems: list[Problem] = []

    def get(self, column: str) -> str:
        return self.raw.cells.get(column, "")

    def error(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.source, self.raw.line, message, column))

    def warn(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.source, self.raw.line, message, column, "warning"))

    @property
    def failed(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""Unicode's control characters (category Cc), which a YAML scalar cannot keep as written."""


class RowChecker:
    """Turns raw rows into :class:`Row` values, reporting every problem of each row."""

    def __init__(
        self,
        source: Path,
        catalogue: Catalogue,
        *,
        fiscal_year_start_month: int,
        decimal: DecimalSeparator | None,
    ) -> None:
        self.source = source
        self.catalogue = catalogue
        self.fiscal_year_start_month = fiscal_year_start_month
        self.decimal = decimal
        self._keys = {key.lower(): key for key in catalogue.metrics}
        self._labels: dict[str, set[str]] = {}
        for key, metric in catalogue.metrics.items():
            self._labels.setdefault(metric.label.lower(), set()).add(key)

    def check(self, raw: RawRow) -> tuple[Row | None, list[Problem]]:
        """The row and every problem it has (warnings too).

        The row is None when its plan cannot be told (partner, period or plan key bad), and its
        target is None when any cell has an error: only a good row is merged, but the checks
        of its plan against config (:mod:`plans.csvimport.conflicts`) still run on a row with,
        say, a bad value, so that a row's problems are all reported at once.
        """
        cells = _Cells(self.source, raw)
        if raw.stray:
            positions = ", ".join(str(p) for p in raw.stray)
            cells.error(
                "",
                f"cells in position {positions} have no column in the header; quote a cell that "
                "contains the delimiter, or name the column",
            )
        for column, text in raw.cells.items():
            control = _CONTROL.search(text)
            if control is not None:
                code = f"U+{ord(control[0]):04X}"
                cells.error(column, f"contains the control character {code}; remove it")
        for column in REQUIRED:
            if not cells.get(column):
                cells.error(column, f"is empty; every row needs {', '.join(REQUIRED)}")
        for column, limit in MAX_KEY.items():
            if len(cells.get(column)) > limit:
                cells.error(column, f"is {len(cells.get(column))} characters; at most {limit}")
        period = self._period(cells)
        metric = self._metric(cells)
        target = self._target(cells, metric)
        status = self._status(cells)
        plan_cells = {p.key for p in cells.problems if p.severity == "error"}
        if period is None or plan_cells & {"partner", "period", "plan"}:
            return None, cells.problems
        partner = cells.get("partner")
        row = Row(
            line=raw.line,
            plan=cells.get("plan") or f"{partner}-{period.name}",
            partner=partner,
            period=period,
            status=status,
            owner=cells.get("owner") or None,
            target=None if cells.failed or target is None else target,
        )
        return row, cells.problems

    def _target(self, cells: _Cells, metric: str | None) -> RowTarget | None:
        value = self._value(cells, metric)
        weight = self._weight(cells)
        currency = self._currency(cells, metric)
        filters = self._filters(cells)
        if metric is None or value is None:
            return None
        fields: dict[str, object] = {"metric": metric, "value": value, "filters": filters}
        if cells.get("key"):
            fields["key"] = cells.get("key")
        if currency:
            fields["currency"] = currency
        if weight is not None:
            fields["weight"] = weight
        try:
            spec = TargetSpec.model_validate(fields)
        except ValidationError as exc:
            for error in exc.errors(include_input=False, include_url=False):
                column = _SPEC_COLUMN.get(str(error["loc"][0]), "") if error["loc"] else ""
                cells.error(column, str(error["msg"]))
            return None
        section = cells.get("section") or None
        return RowTarget(spec, target_key(spec), section, cells.get("value"))

    def _period(self, cells: _Cells) -> Period | None:
        text = cells.get("period").upper()
        if not text:
            return None
        try:
            return parse_period(text, fiscal_year_start_month=self.fiscal_year_start_month)
        except ValueError as exc:
            cells.error("period", str(exc))
            return None

    def _metric(self, cells: _Cells) -> str | None:
        text = cells.get("metric")
        if not text:
            return None
        key = self._keys.get(text.lower())
        keys = {key} if key is not None else self._labels.get(text.lower(), set())
        if len(keys) == 1:
            return next(iter(keys))
        if keys:
            cells.error("metric", f"{text!r} is the label of {', '.join(sorted(keys))}; use a key")
            return None
        tip = "see `partnerplan metrics list`"
        for hint in difflib.get_close_matches(text.lower(), [*self._keys, *self._labels], n=1):
            tip = f"did you mean {self._keys.get(hint) or min(self._labels[hint])!r}?"
        cells.error("metric", f"unknown metric {text!r} (neither a key nor a label); {tip}")
        return None

    def _value(self, cells: _Cells, metric: str | None) -> Decimal | None:
        text = cells.get("value")
        if not text:
            return None
        try:
            number = parse_number(text, self.decimal)
        except NumberError as exc:
            cells.error("value", str(exc))
            return None
        unit = self.catalogue[metric].unit if metric is not None else None
        if number.value < 0:
            cells.error("value", "a target value cannot be negative")
        if number.percent and unit not in (None, Unit.percent):
            cells.error("value", f"{metric} is not a percentage; remove the % sign")
        if unit is Unit.percent and not 0 <= number.value <= 100:
            cells.error(
                "value",
                f"{metric} is a percentage; the target must be between 0 and 100, "
                f"not {plain(number.value)}",
            )
        if unit is Unit.percent and not number.percent and metric is not None:
            warning = percent_fraction(metric, number.value)
            if warning is not None:
                cells.warn("value", warning)
        return number.value

    def _weight(self, cells: _Cells) -> Decimal | None:
        text = cells.get("weight")
        if not text:
            return None
        try:
            number = parse_number(text, self.decimal)
        except NumberError as exc:
            cells.error("weight", str(exc))
            return None
        if number.percent or number.value < 0:
            cells.error("weight", "a weight is a number of 0 or more, without a % sign")
        return number.value

    def _currency(self, cells: _Cells, metric: str | None) -> str | None:
        text = cells.get("currency").upper()
        money = self.catalogue[metric].is_money if metric is not None else None
        if money and not text:
            cells.error("currency", f"{metric} is a money metric: fill in the currency (e.g. USD)")
        if money is False and text:
            cells.error("currency", f"{metric} is not money; leave the currency empty")
        if text and not (len(text) == 3 and text.isascii() and text.isalpha()):
            cells.error("currency", f"{text!r} is not a 3-letter currency code (e.g. USD, EUR)")
        return text or None

    def _status(self, cells: _Cells) -> str | None:
        text = cells.get("status")
        if not text:
            return None
        if text.lower() in STATUSES:
            return text.lower()
        cells.error("status", f"status {text!r} is not one of {', '.join(STATUSES)}")
        return None

    def _filters(self, cells: _Cells) -> dict[str, str]:
        filters: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in cells.get("filter").split(";"))):
            name, equals, value = (s.strip() for s in part.partition("="))
            if not (equals and name):
                cells.error("filter", f"{part!r}: write attribute=value (several separated by ;)")
            elif name in filters:
                cells.error("filter", f"attribute {name!r} is filtered twice; keep one")
            else:
                filters[name] = value
        return filters
