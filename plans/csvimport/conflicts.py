"""Problems between rows, and between a row and the plans already in config, at the row's line.

The loader would catch each of these too, but at a line of a YAML file that has not been written;
checked here they point at the row that causes them: a plan key already used by another file (or
by a template), a row that disagrees with its plan's partner, period, status or owner, a plan that
overlaps another plan of the same partner, and a target set twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from partnerplan.errors import Problem
from plans.csvimport.rows import Row
from plans.periods import Period
from plans.planfile import Plan


@dataclass
class _SheetPlan:
    """A plan as the sheet first stated it."""

    line: int
    partner: str
    period: Period
    status: tuple[str, int] | None = None
    owner: tuple[str, int] | None = None
    targets: dict[str, int] = field(default_factory=dict)


def _dates(period: Period) -> tuple[object, object]:
    return period.start, period.end


def _where(plan: Plan) -> str:
    return f"{plan.file}:{plan.line}"


class Conflicts:
    """Remembers each plan and target the sheet has set, to check every later row against."""

    def __init__(
        self, source: Path, output: Path, editable: Iterable[str], existing: Iterable[Plan]
    ) -> None:
        self.source = str(source)
        self.output = output
        self.editable = set(editable)
        self.by_key: dict[str, Plan] = {}
        self.by_partner: dict[str, list[Plan]] = {}
        for plan in existing:
            self.by_key.setdefault(plan.key, plan)
            self.by_partner.setdefault(plan.partner_key, []).append(plan)
        self.sheet: dict[str, _SheetPlan] = {}
        self.sheet_by_partner: dict[str, list[tuple[str, _SheetPlan]]] = {}

    def check(self, row: Row) -> list[Problem]:
        """Every conflict of ``row``; what a good row sets is remembered for the next ones.

        A plan is remembered from its first row without a conflict, a target (with the plan's
        status and owner) from a row without any problem.
        """
        problems: list[Problem] = []

        def error(column: str, message: str) -> None:
            problems.append(Problem(self.source, row.line, message, column))

        seen = self.sheet.get(row.plan)
        if seen is None:
            self._first_row(row, error)
            if problems:
                return problems
            seen = _SheetPlan(row.line, row.partner, row.period)
            self.sheet[row.plan] = seen
            self.sheet_by_partner.setdefault(row.partner, []).append((row.plan, seen))
        elif (seen.partner, seen.period.name) != (row.partner, row.period.name):
            error(
                "plan",
                f"plan {row.plan!r} is for {seen.partner}, {seen.period.name} (line {seen.line}); "
                f"this row says {row.partner}, {row.period.name}: a plan has one partner and "
                "period: fix the row, or give it another plan key",
            )
        for column, value in (("status", row.status), ("owner", row.owner)):
            first: tuple[str, int] | None = getattr(seen, column)
            if value is not None and first is not None and first[0] != value:
                error(
                    column,
                    f"plan {row.plan!r} has {column} {first[0]!r} on line {first[1]}; a plan has "
                    f"one {column}: make the rows agree",
                )
        target = row.target
        line = seen.targets.get(target.key) if target is not None else None
        if target is not None and line is not None:
            error(
                "key",
                f"plan {row.plan!r} already gets target {target.key!r} from line {line}; "
                "remove one of the rows, or tell them apart with the key column",
            )
        if problems or target is None:
            return problems
        seen.targets[target.key] = row.line
        for column, value in (("status", row.status), ("owner", row.owner)):
            if value is not None and getattr(seen, column) is None:
                setattr(seen, column, (value, row.line))
        return problems

    def _first_row(self, row: Row, error: Callable[[str, str], None]) -> None:
        """Checks made once per plan: its key, its partner and period, its overlaps."""
        other = self.by_key.get(row.plan)
        ours = other is not None and Path(other.file) == self.output and row.plan in self.editable
        if other is not None and not ours:
            error(
                "plan",
                f"plan key {row.plan!r} is already used by {_where(other)}; plan keys are unique "
                "across config/plans: put another key in the plan column, or edit that plan there",
            )
            return
        if other is not None and (
            other.partner_key != row.partner or _dates(other.period) != _dates(row.period)
        ):
            error(
                "plan",
                f"plan {row.plan!r} ({_where(other)}) is for {other.partner_key}, "
                f"{other.period.name}; this row says {row.partner}, {row.period.name}: fix the "
                "row, or give it another plan key",
            )
            return
        for plan in self.by_partner.get(row.partner, []):
            if plan.key != row.plan and plan.period.overlaps(row.period):
                error(
                    "period",
                    f"partner {row.partner} already has plan {plan.key!r} for {plan.period.name} "
                    f"({_where(plan)}), which overlaps {row.period.name}: put {plan.key} in the "
                    "plan column to add to it, or change the period",
                )
        for key, seen in self.sheet_by_partner.get(row.partner, []):
            if seen.period.overlaps(row.period):
                error(
                    "period",
                    f"plan {key!r} for {row.partner}, {seen.period.name} (line {seen.line}) "
                    f"overlaps {row.period.name}: one plan per partner and period: use the same "
                    "period, or the same key in the plan column",
                )
