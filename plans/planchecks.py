"""Checks on each target of a plan or template, located at FILE:LINE.

A target must name a known metric; money needs a currency and other units none; a percentage
lies between 0 and 100; explicit phasing names months of the plan's period; phasing applies to
running totals only; target keys are unique within a plan. A percentage written as a fraction
(``win_rate: 0.35``) is a warning: it is a valid target of 0.35 %, but far more often a 35 %
target typed the way a spreadsheet stores it.
"""

from __future__ import annotations

import difflib
import json
from decimal import Decimal

from partnerplan.config import Document
from partnerplan.errors import Problem
from plans.catalogue import Catalogue, Unit
from plans.periods import Period
from plans.planspec import SectionSpec, TargetSpec

Loc = tuple[str | int, ...]


def target_key(spec: TargetSpec) -> str:
    """The key a target is stored under: its own, else the metric (plus filter values)."""
    if spec.key:
        return spec.key
    if not spec.filters:
        return spec.metric
    parts = ",".join(f"{k}={_flat(v)}" for k, v in sorted(spec.filters.items()))
    return f"{spec.metric}[{parts}]"


def _flat(value: object) -> str:
    if isinstance(value, list):
        return "|".join(value)
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return json.dumps(dump(by_alias=True), sort_keys=True)
    return str(value)


def percent_fraction(metric: str, value: Decimal) -> str | None:
    """The warning for a percentage target between 0 and 1 (``0.35``: 35 % meant?), or None."""
    if not 0 < value < 1:
        return None
    meant = format((value * 100).normalize(), "f")
    return (
        f"{metric} is a percentage from 0 to 100: {value} means {value} %; "
        f"if the target is {meant} %, write {meant}"
    )


def check_targets(
    doc: Document, loc: Loc, sections: list[SectionSpec], period: Period | None, cat: Catalogue
) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for s_index, section in enumerate(sections):
        for t_index, spec in enumerate(section.targets):
            here = (*loc, "sections", s_index, "targets", t_index)
            problems.extend(check_target(doc, here, spec, period, cat))
            key = target_key(spec)
            if key in seen:
                problems.append(
                    doc.problem(
                        here,
                        f"target {key!r} appears twice in this plan (first on line {seen[key]}); "
                        "give one of them a distinct key:",
                    )
                )
            seen.setdefault(key, doc.line_of(here))
    return problems


def check_target(
    doc: Document, loc: Loc, spec: TargetSpec, period: Period | None, cat: Catalogue
) -> list[Problem]:
    if spec.metric not in cat:
        hint = difflib.get_close_matches(spec.metric, cat.keys(), n=1)
        tip = f"did you mean {hint[0]!r}?" if hint else "see `partnerplan metrics list`"
        return [doc.problem((*loc, "metric"), f"unknown metric {spec.metric!r}; {tip}")]
    metric = cat[spec.metric]
    problems: list[Problem] = []
    if metric.is_money and spec.currency is None:
        problems.append(
            doc.problem(
                (*loc, "currency"),
                f"{spec.metric} is a money metric: add currency: (e.g. currency: USD)",
            )
        )
    if not metric.is_money and spec.currency is not None:
        problems.append(
            doc.problem((*loc, "currency"), f"{spec.metric} is not money; remove currency:")
        )
    if metric.unit is Unit.percent and not (0 <= spec.value <= 100):
        problems.append(
            doc.problem(
                (*loc, "value"),
                f"{spec.metric} is a percentage; the target must be between 0 and 100, "
                f"not {spec.value}",
            )
        )
    if metric.unit is Unit.percent and (warning := percent_fraction(spec.metric, spec.value)):
        problems.append(doc.problem((*loc, "value"), warning, severity="warning"))
    if spec.value < 0:
        problems.append(doc.problem((*loc, "value"), "a target value cannot be negative"))
    if isinstance(spec.phasing, dict) and period is not None:
        months = {m.name for m in period.months()}
        for name in spec.phasing:
            if name not in months:
                problems.append(
                    doc.problem(
                        (*loc, "phasing", name),
                        f"phasing month {name!r} is not a month of {period.name} "
                        f"({', '.join(sorted(months))})",
                    )
                )
    if spec.phasing != "linear" and not metric.is_additive:
        problems.append(
            doc.problem(
                (*loc, "phasing"),
                f"{spec.metric} is a level ({metric.aggregate}), not a running total; "
                "remove phasing:",
            )
        )
    return problems
