"""Reading a whole sheet into the plans file it updates, in memory, or failing with every reason.

Rows stream through: each is checked (:mod:`plans.csvimport.rows`), checked against the rows
before it and the plans in config (:mod:`plans.csvimport.conflicts`), and merged into the
round-trip document (:mod:`plans.csvimport.document`). After the first error nothing more is
merged: the rest of the sheet is only checked, so that every problem is reported in one pass.

Memory stays bounded whatever the sheet's size: problems past the first few are only counted,
and the merged file may not outgrow the config loader's size limit. Each new target adds at least
:data:`MIN_TARGET_BYTES` plus its metric and value to the file, so once that lower bound passes
the limit the import stops reading and says why, instead of building a file no command could load.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from partnerplan.config import MAX_CONFIG_BYTES
from partnerplan.errors import ConfigProblems, Problem
from plans.catalogue import Catalogue
from plans.csvimport.conflicts import Conflicts
from plans.csvimport.decimals import DecimalSeparator, plain
from plans.csvimport.document import PlansDocument
from plans.csvimport.report import Changes, ProblemLog
from plans.csvimport.rows import Row, RowChecker, RowTarget
from plans.csvimport.sheet import REQUIRED, count_rows, read_rows
from plans.planfile import Plan

MIN_TARGET_BYTES = len("          - {metric: , value: }\n")
"""The fewest bytes a new target line takes in the file as written, besides metric and value."""
MIN_ROW_BYTES = len("{metric: x,value: 1}")
"""The fewest bytes any target takes in any YAML style: each good row is a distinct target of
the file, so a sheet of more rows than the size limit allows at this rate can never import."""


@dataclass
class ImportResult:
    """A sheet merged into its plans file in memory: the text to write and what it changes."""

    source: Path
    document: PlansDocument
    text: str
    changes: Changes
    warnings: list[Problem]

    @property
    def output(self) -> Path:
        """The plans file the import writes (``config/plans/<sheet name>.yaml``)."""
        return self.document.path


def _limit() -> str:
    mib = 1024 * 1024
    return (
        f"{MAX_CONFIG_BYTES // mib} MiB"
        if MAX_CONFIG_BYTES % mib == 0
        else f"{MAX_CONFIG_BYTES:,} bytes"
    )


def _too_many(source: Path, most: int) -> Problem:
    return Problem(
        str(source),
        0,
        f"the sheet has more than {most:,} rows: its targets cannot fit in one plans file "
        f"(config files are limited to {_limit()}, and a target "
        f"takes at least {MIN_ROW_BYTES} bytes): split the sheet into several files (e.g. one "
        "per period or region) and import each; each becomes its own plans file",
    )


def _too_big(source: Path, output: Path, line: int | None) -> Problem:
    stopped = f"stopped reading at line {line:,}: the rows so far" if line else "the rows"
    return Problem(
        str(source),
        line or 0,
        f"{stopped} make {output.name} larger than {_limit()}, the "
        "limit of a config file: split the sheet into several files (e.g. one per period or "
        "region) and import each; each becomes its own plans file",
    )


def _merge(document: PlansDocument, row: Row, target: RowTarget, changes: Changes) -> bool:
    """Merge one good row; whether it added a target (which grows the file)."""
    plan = document.plans.get(row.plan)
    if plan is None:
        plan = document.add_plan(row)
        changes.plans_added.add(row.plan)
        changes.note(f"+ plan {row.plan} ({row.partner}, {row.period.name})")
    fields = document.update_plan(plan, row)
    change = document.set_target(plan, row.line, target)
    changes.targets[change] += 1
    existing = row.plan not in changes.plans_added
    if existing and (fields or change != "unchanged") and row.plan not in changes.plans_updated:
        changes.plans_updated.add(row.plan)
        changes.note(f"~ plan {row.plan}")
    for field in fields if existing else []:
        changes.note(f"  ~ {field}")
    if change != "unchanged":
        currency = f" {target.spec.currency}" if target.spec.currency else ""
        mark = "+" if change == "added" else "~"
        changes.note(f"  {mark} {target.key}: {plain(target.spec.value)}{currency}")
    return change == "added"


def import_csv(
    source: Path,
    plans_dir: Path,
    catalogue: Catalogue,
    existing: Iterable[Plan],
    *,
    fiscal_year_start_month: int,
    decimal: DecimalSeparator | None = None,
    delimiter: str | None = None,
) -> ImportResult:
    """Merge the rows of ``source`` into ``plans_dir/<stem>.yaml`` in memory; write nothing.

    Args:
        source: the sheet (CSV, UTF-8).
        plans_dir: ``config/plans``.
        catalogue: the metrics a row may name (by key or label).
        existing: every plan config holds now, to report a row that conflicts with one.
        fiscal_year_start_month: how FY periods read (settings).
        decimal: the sheet's decimal separator; None refuses numbers it would decide.
        delimiter: the cell separator; None detects it from the header.

    Raises:
        ConfigProblems: every problem of every row (the first few of each severity, then a
            count), each as ``FILE.csv:LINE: column: message``; warnings included.
    """
    most = MAX_CONFIG_BYTES // MIN_ROW_BYTES
    if count_rows(source, delimiter, most) > most:
        raise ConfigProblems([_too_many(source, most)])
    document = PlansDocument(plans_dir / f"{source.stem}.yaml", source.name)
    checker = RowChecker(
        source, catalogue, fiscal_year_start_month=fiscal_year_start_month, decimal=decimal
    )
    conflicts = Conflicts(source, document.path, document.plans, existing)
    log = ProblemLog(source)
    changes = Changes()
    grown = 0
    try:
        for raw in read_rows(source, delimiter):
            row, problems = checker.check(raw)
            if row is not None:
                problems += conflicts.check(row)
            log.add(problems)
            target = row.target if row is not None else None
            if row is None or target is None or any(p.severity == "error" for p in problems):
                continue
            changes.rows += 1
            if not log.errors and _merge(document, row, target, changes):
                grown += MIN_TARGET_BYTES + len(target.spec.metric) + len(target.value_text)
            if grown > MAX_CONFIG_BYTES:
                log.add([_too_big(source, document.path, raw.line)])
                break
    except ConfigProblems as exc:
        log.add(exc.problems)
    if not log.errors and not changes.rows:
        log.add([Problem(str(source), 1, f"no rows under the header ({', '.join(REQUIRED)})")])
    if log.errors:
        raise ConfigProblems(log.problems())
    text = document.dump()
    if len(text.encode()) > MAX_CONFIG_BYTES:
        raise ConfigProblems([*log.problems(), _too_big(source, document.path, None)])
    return ImportResult(source, document, text, changes, log.problems("warning"))
