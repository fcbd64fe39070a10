"""What an import tells its user: problems (bounded) and changes (counted, a few shown).

A sheet of a million bad rows must not become a million problems in memory or on a terminal:
:class:`ProblemLog` keeps the first few of each severity and only counts the rest, then says
how many it left out. :class:`Changes` counts what the import did and keeps a bounded list of
lines that a dry run prints.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from partnerplan.errors import Problem

SHOWN = 50
"""Problems of each severity, and dry-run lines, printed before "and N more"."""


@dataclass
class ProblemLog:
    """The first :data:`SHOWN` problems of each severity, and a count of all of them."""

    source: Path
    shown: int = SHOWN
    kept: list[Problem] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    last_line: int = 0

    def add(self, problems: Iterable[Problem]) -> None:
        """Record problems; past the limit of their severity they are only counted."""
        for problem in problems:
            self.counts[problem.severity] += 1
            self.last_line = max(self.last_line, problem.line)
            if self.counts[problem.severity] <= self.shown:
                self.kept.append(problem)

    @property
    def errors(self) -> int:
        """How many errors were found (shown or not)."""
        return self.counts["error"]

    def problems(self, severity: str | None = None) -> list[Problem]:
        """The kept problems (of one severity, or all), plus a line for each one left out."""
        out = [p for p in self.kept if severity in (None, p.severity)]
        for kind, count in sorted(self.counts.items()):
            left = count - self.shown
            if left > 0 and severity in (None, kind):
                out.append(
                    Problem(
                        str(self.source),
                        self.last_line,
                        f"and {left:,} more {kind}s up to this line (the first {self.shown} "
                        "are listed); fix those and import again",
                        severity=kind,
                    )
                )
        return out


@dataclass
class Changes:
    """What an import changes in the plans file, counted, with the first lines for a dry run."""

    rows: int = 0
    plans_added: set[str] = field(default_factory=set)
    plans_updated: set[str] = field(default_factory=set)
    targets: Counter[str] = field(default_factory=Counter)
    lines: list[str] = field(default_factory=list)
    lines_left_out: int = 0

    def note(self, line: str) -> None:
        """Keep a line for the dry run, or count it once :data:`SHOWN` are kept."""
        if len(self.lines) < SHOWN:
            self.lines.append(line)
        else:
            self.lines_left_out += 1

    def details(self) -> list[str]:
        """The kept lines, and how many were left out."""
        more = [f"... and {self.lines_left_out:,} more changes"] if self.lines_left_out else []
        return [*self.lines, *more]

    def summary(self) -> str:
        """One line: rows read, plans added and updated, targets added, changed, unchanged."""
        return (
            f"{self.rows:,} rows: {len(self.plans_added):,} plans added, "
            f"{len(self.plans_updated):,} updated; {self.targets['added']:,} targets added, "
            f"{self.targets['changed']:,} changed, {self.targets['unchanged']:,} unchanged"
        )
