"""What a target asks for, declared once for every form a target takes.

A target is read from a plan file (:class:`plans.planfile.Target`), written to the store
(:class:`plans.store.TargetRow`) and read back by the engine to be computed. Its definition
(metric, value, currency, weight, filters, phasing) is the same in each, so the plan file's
target and the engine's loaded target both inherit :class:`TargetDefinition` rather than repeat
its fields; a field added here reaches both.

It is a frozen dataclass, not a pydantic model, because the engine builds one per stored target
(20,000 at benchmark scale) from Core rows and validation there would be pure cost: the values
were validated when the plan file was loaded. The table row cannot inherit it (SQLModel has to be
told each column's SQL type, and a table row is mutable), so :func:`plans.planstore.sync_plans`
copies :data:`DEFINITION_FIELDS` onto it and a test checks that every one is a column.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, kw_only=True)
class TargetDefinition:
    """The terms of a target: which metric, how much of it, and how the amount is judged.

    Attributes:
        metric: key of the metric in the catalogue.
        value: the amount to reach (or not to exceed, when lower is better).
        currency: the currency of a money target; None means the reporting currency.
        weight: the target's share in the plan score.
        filters: attribute filters narrowing the activities counted (JSON-ready).
        phasing: how the value is due over the period (``{"mode": "linear"}``, ...).
    """

    metric: str
    value: Decimal
    currency: str | None
    weight: Decimal
    filters: dict[str, Any]
    phasing: dict[str, Any]


DEFINITION_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TargetDefinition))
"""The names of :class:`TargetDefinition`'s fields, each a :class:`plans.store.TargetRow` column."""
