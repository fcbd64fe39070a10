"""Loading a whole config directory into one :class:`Project`, collecting every problem.

``partnerplan validate`` and every command that runs the flow go through :func:`load_project`,
so a typo anywhere is reported (all of them at once, each at FILE:LINE) before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mappings.loader import MappingSet, load_mappings
from mappings.usage import unusable_references
from partnerplan.config import parse, validate
from partnerplan.errors import ConfigProblems, Problem
from plans.catalogue import Catalogue, load_catalogue
from plans.planfile import PlanSet, load_plans
from plans.references import usable_references
from worker.settings import Settings, settings_model
from writeback.config import WritebackFile, load_writeback


@dataclass
class Project:
    """Everything a run needs from ``config/``, validated."""

    root: Path
    settings: Settings
    warnings: list[Problem] = field(default_factory=list)
    mappings: MappingSet = field(default_factory=MappingSet)
    writeback: WritebackFile = field(default_factory=WritebackFile)
    metrics: Catalogue = field(default_factory=lambda: Catalogue({}, set()))
    plans: PlanSet = field(default_factory=lambda: PlanSet([]))


def load_project(root: Path) -> Project:
    """Load and cross-check every file under ``root``; raise :class:`ConfigProblems` if any fail."""
    problems: list[Problem] = []
    settings_path = root / "settings.yaml"
    if not root.is_dir():
        raise ConfigProblems(
            [
                Problem(
                    str(root),
                    0,
                    "config directory not found; run `partnerplan init DIR` "
                    "or point --config / PARTNERPLAN_CONFIG at it",
                )
            ]
        )
    settings: Settings | None = None
    if settings_path.exists():
        doc = parse(settings_path, expand=True)
        settings = validate(doc, settings_model())
        problems.extend(doc.problems)
    else:
        problems.append(
            Problem(str(settings_path), 0, "settings.yaml is missing; run `partnerplan init`")
        )
    kinds = settings.kinds() if settings is not None else None
    mappings, mapping_problems = load_mappings(root / "mappings", kinds)
    problems.extend(mapping_problems)
    sources = dict(settings.sources) if settings is not None else None
    writeback, writeback_problems = load_writeback(root / "writeback.yaml", sources)
    problems.extend(writeback_problems)
    metrics, metric_problems = load_catalogue(root)
    problems.extend(metric_problems)
    plans: PlanSet | None = None
    if metrics is not None:
        fiscal_start = settings.fiscal_year_start_month if settings is not None else 1
        plans, plan_problems = load_plans(root, metrics, fiscal_year_start_month=fiscal_start)
        problems.extend(plan_problems)
    if mappings is not None and metrics is not None and plans is not None:
        problems.extend(_unusable_kinds(mappings, metrics, plans))
    errors = [p for p in problems if p.severity == "error"]
    if errors or settings is None or mappings is None or writeback is None:
        raise ConfigProblems(problems)
    if metrics is None or plans is None:
        raise ConfigProblems(problems)
    return Project(
        root=root,
        settings=settings,
        warnings=problems,
        mappings=mappings,
        writeback=writeback,
        metrics=metrics,
        plans=plans,
    )


def _unusable_kinds(mappings: MappingSet, metrics: Catalogue, plans: PlanSet) -> list[Problem]:
    """A mapped kind that no metric counts is an error (its records could never show up).

    Attributes are not checked here: any attribute may be used by a plan target's filter, so
    an attribute no metric reads today is not a mistake.
    """
    usable = usable_references(metrics, plans)
    every_attribute = usable | {(kind, "*") for kind, _ in usable}
    return unusable_references(mappings, every_attribute, severity="error")
