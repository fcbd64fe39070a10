"""Loading ``config/plans/*.yaml`` into a :class:`PlanSet`, every problem at FILE:LINE.

Checks: the period parses, each target's metric exists, a money target has a currency, a
percent target is at most 100, explicit phasing names months inside the period, target keys are
unique in a plan, plan keys are unique, and no two plans of one partner overlap in time; the
keys of sections (and of the action items, investment lines and target accounts in a section)
are unique, and an attached file exists (its content is hashed here, so a changed file is a
changed plan and is uploaded again). When the
caller knows the partners (``partners=``), an unknown partner is an error too and ``tier:``
templates are expanded; otherwise tier templates are kept and expanded by
:func:`plans.planstore.sync_plans` from the partners in the store (a plan written for a partner
wins over a tier template's).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from partnerplan.config import Document, parse, validate, yaml_files
from partnerplan.errors import Problem
from plans.catalogue import Catalogue, plain_filter
from plans.periods import Period, parse_period
from plans.planchecks import check_targets, target_key
from plans.planparts import attachment_data, check_parts, declared_status, section_data
from plans.planspec import LEGACY_STATUSES, PlansFile, TargetSpec, TemplateSpec
from plans.rates import CONFIG_SOURCE, RateSet, load_rates
from plans.target import TargetDefinition

Loc = tuple[str | int, ...]


@dataclass(frozen=True, kw_only=True)
class Target(TargetDefinition):
    """A resolved target, ready to store: its definition, its key and the section it sits in."""

    key: str
    section: str


@dataclass
class Plan:
    """A resolved plan: one partner, one period, its sections and targets."""

    key: str
    partner_key: str
    period: Period
    status: str
    owner: str | None
    sections: list[dict[str, Any]]
    targets: list[Target]
    attachments: list[dict[str, Any]] = field(default_factory=list)
    file: str = ""
    line: int = 0
    partner_line: int = 0
    title: str | None = None
    summary: str = ""
    currency: str | None = None
    origin: str = "config"
    crm: dict[str, Any] | None = None
    """A CRM-authored plan's records: ``source``, the plan's ``record_id``, its ``targets``."""

    def definition(self) -> dict[str, Any]:
        """Everything from config that defines the plan, as JSON-ready data."""
        return {
            "key": self.key,
            "partner": self.partner_key,
            "period": self.period.name,
            "status": self.status,
            "owner": self.owner,
            "title": self.title,
            "summary": self.summary,
            "currency": self.currency,
            "origin": self.origin,
            "crm": self.crm,
            "attachments": self.attachments,
            "sections": self.sections,
            "targets": target_data(self.targets),
        }

    def definition_hash(self) -> str:
        """Hash of :meth:`definition`; a change means the plan must be recomputed."""
        return digest(self.definition())

    def terms(self) -> dict[str, Any]:
        """What the partner agrees to: the period and the targets (see :mod:`plans.lifecycle`).

        Wording, action items, investment lines, target accounts and attachments are the plan's
        working content: they change without a new version.
        """
        return {"period": self.period.name, "targets": target_data(self.targets)}


def target_data(targets: list[Target]) -> list[dict[str, Any]]:
    """Targets as JSON-ready data (what :func:`targets_from` reads back)."""
    return [{**t.__dict__, "value": str(t.value), "weight": str(t.weight)} for t in targets]


def targets_from(data: list[dict[str, Any]]) -> list[Target]:
    """The targets :func:`target_data` wrote (a stored version's terms)."""
    return [
        Target(
            key=item["key"],
            section=item["section"],
            metric=item["metric"],
            value=Decimal(item["value"]),
            currency=item.get("currency"),
            weight=Decimal(item["weight"]),
            filters=item.get("filters") or {},
            phasing=item.get("phasing") or {},
        )
        for item in data
    ]


def digest(data: Any) -> str:
    """A stable hash of JSON-ready data."""
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Group:
    """A tier template waiting for the store's partners to expand it."""

    template: TemplateSpec
    period: Period
    file: str
    line: int
    root: Path | None = None


@dataclass
class PlanSet:
    """Every plan from config, tier templates still unexpanded, and the configured rates."""

    plans: list[Plan]
    groups: list[Group] = field(default_factory=list)
    rates: RateSet | None = None
    fiscal_year_start_month: int = 1

    @property
    def rates_source(self) -> str:
        """Which stored rates convert currencies: ``config``, or the CRM stream ``rates.yaml``
        names under ``stream:``."""
        return self.rates.use if self.rates is not None else CONFIG_SOURCE

    def expand(self, partners: Mapping[str, str | None]) -> list[Plan]:
        """All plans, tier templates expanded for ``partners`` (key → tier).

        A partner that already has a plan overlapping the template's period keeps that plan.
        """
        out = list(self.plans)
        taken = {(p.partner_key, p.period) for p in out}
        for group in self.groups:
            tier = group.template.tier
            for partner in sorted(k for k, t in partners.items() if t == tier):
                if any(k == partner and p.overlaps(group.period) for k, p in taken):
                    continue
                plan = _expand(
                    group.template, partner, group.period, group.file, group.line, group.root
                )
                if plan is not None:
                    out.append(plan)
                    taken.add((partner, group.period))
        return out


def _phasing(spec: TargetSpec) -> dict[str, Any]:
    if isinstance(spec.phasing, str):
        return {"mode": spec.phasing}
    return {"mode": "explicit", "values": {k: str(v) for k, v in spec.phasing.items()}}


def _resolve_target(section: str, spec: TargetSpec) -> Target:
    return Target(
        key=target_key(spec),
        section=section,
        metric=spec.metric,
        value=spec.value,
        currency=spec.currency,
        weight=spec.weight,
        filters={k: plain_filter(v) for k, v in spec.filters.items()},
        phasing=_phasing(spec),
    )


def _expand(
    tpl: TemplateSpec,
    partner: str,
    period: Period,
    file: str,
    line: int,
    root: Path | None = None,
) -> Plan | None:
    override = tpl.overrides.get(partner)
    if override is not None and override.skip:
        return None
    targets: list[Target] = []
    for section in tpl.sections:
        for spec in section.targets:
            target = _resolve_target(section.name, spec)
            change = override.targets.get(target.key) if override else None
            if change is not None:
                if change.remove:
                    continue
                target = replace(
                    target,
                    value=change.value if change.value is not None else target.value,
                    currency=change.currency or target.currency,
                    weight=change.weight if change.weight is not None else target.weight,
                )
            targets.append(target)
    status = override.status if override and override.status else tpl.status
    return Plan(
        key=tpl.key.format(partner=partner, period=period.name),
        partner_key=partner,
        period=period,
        status=LEGACY_STATUSES.get(status, status),
        owner=(override.owner if override and override.owner else tpl.owner),
        sections=[section_data(s) for s in tpl.sections],
        targets=targets,
        attachments=[attachment_data(a, root) for a in tpl.attachments],
        file=file,
        line=line,
        title=tpl.title,
        summary=tpl.summary,
        currency=tpl.currency,
    )


def _period(
    doc: Document, loc: Loc, text: str, fy_start: int
) -> tuple[Period | None, list[Problem]]:
    try:
        return parse_period(text, fiscal_year_start_month=fy_start), []
    except ValueError as exc:
        return None, [doc.problem(loc, str(exc))]


def _load_file(
    path: Path, cat: Catalogue, fy_start: int, root: Path | None = None
) -> tuple[list[Plan], list[Group], list[Problem]]:
    doc = parse(path)
    loaded = validate(doc, PlansFile)
    if loaded is None:
        return [], [], doc.problems
    problems = list(doc.problems)
    plans: list[Plan] = []
    groups: list[Group] = []
    for index, spec in enumerate(loaded.plans):
        loc: Loc = ("plans", index)
        period, bad = _period(doc, (*loc, "period"), spec.period, fy_start)
        problems += bad + check_targets(doc, loc, spec.sections, period, cat)
        problems += check_parts(doc, loc, spec, root)
        status, renamed = declared_status(doc, loc, spec.status)
        problems += renamed
        if period is None:
            continue
        plans.append(
            Plan(
                key=spec.key,
                partner_key=spec.partner,
                period=period,
                status=status,
                owner=spec.owner,
                sections=[section_data(s) for s in spec.sections],
                targets=[_resolve_target(s.name, t) for s in spec.sections for t in s.targets],
                attachments=[attachment_data(a, root) for a in spec.attachments],
                file=str(path),
                line=doc.line_of(loc),
                partner_line=doc.line_of((*loc, "partner")),
                title=spec.title,
                summary=spec.summary,
                currency=spec.currency,
            )
        )
    for index, tpl in enumerate(loaded.templates):
        loc = ("templates", index)
        period, bad = _period(doc, (*loc, "period"), tpl.period, fy_start)
        problems += bad + check_targets(doc, loc, tpl.sections, period, cat)
        problems += check_parts(doc, loc, tpl, root)
        problems += declared_status(doc, loc, tpl.status)[1]
        for partner, override in tpl.overrides.items():
            if override.status is not None:
                problems += declared_status(doc, (*loc, "overrides", partner), override.status)[1]
        keys = {target_key(t) for s in tpl.sections for t in s.targets}
        for partner, override in tpl.overrides.items():
            for key in override.targets:
                if key not in keys:
                    problems.append(
                        doc.problem(
                            (*loc, "overrides", partner, "targets", key),
                            f"the template has no target {key!r}; its targets: "
                            f"{', '.join(sorted(keys))}",
                        )
                    )
        if not tpl.partners and tpl.tier is None:
            problems.append(doc.problem(loc, "a template needs partners: [...] and/or tier:"))
        if period is None:
            continue
        for partner in tpl.partners:
            plan = _expand(tpl, partner, period, str(path), doc.line_of(loc), root)
            if plan is not None:
                plans.append(plan)
        if tpl.tier is not None:
            groups.append(Group(tpl, period, str(path), doc.line_of(loc), root))
    return plans, groups, problems


def _cross_check(plans: list[Plan], partners: Mapping[str, str | None] | None) -> list[Problem]:
    problems: list[Problem] = []
    by_key: dict[str, Plan] = {}
    by_partner: dict[str, list[Plan]] = {}
    for plan in plans:
        first = by_key.get(plan.key)
        if first is not None:
            problems.append(
                Problem(
                    plan.file,
                    plan.line,
                    f"plan key {plan.key!r} is already used ({first.file}:{first.line}); "
                    "plan keys must be unique",
                )
            )
        by_key.setdefault(plan.key, plan)
        if partners is not None and plan.partner_key not in partners:
            problems.append(
                Problem(
                    plan.file,
                    plan.partner_line or plan.line,
                    f"unknown partner {plan.partner_key!r} in plan {plan.key!r}; "
                    "use a partner key from the CRM (Partner_Key__c / partner_key)",
                )
            )
        for other in by_partner.get(plan.partner_key, []):
            if other.period.overlaps(plan.period):
                problems.append(
                    Problem(
                        plan.file,
                        plan.line,
                        f"plan {plan.key!r} ({plan.period.name}) overlaps plan {other.key!r} "
                        f"({other.period.name}, {other.file}:{other.line}) for partner "
                        f"{plan.partner_key}; merge them or change a period",
                    )
                )
        by_partner.setdefault(plan.partner_key, []).append(plan)
    return problems


def load_plans(
    config_dir: Path,
    catalogue: Catalogue,
    *,
    fiscal_year_start_month: int,
    partners: Mapping[str, str | None] | None = None,
) -> tuple[PlanSet | None, list[Problem]]:
    """Every plan under ``config_dir/plans`` plus ``config_dir/rates.yaml``.

    Args:
        config_dir: the config directory.
        catalogue: the metrics targets may name.
        fiscal_year_start_month: the month FY periods start in (settings).
        partners: partner key → tier, when known: unknown partners become errors and tier
            templates are expanded now rather than at :func:`plans.planstore.sync_plans`.
    """
    problems: list[Problem] = []
    plans: list[Plan] = []
    groups: list[Group] = []
    for path in yaml_files(config_dir / "plans"):
        file_plans, file_groups, file_problems = _load_file(
            path, catalogue, fiscal_year_start_month, config_dir
        )
        plans += file_plans
        groups += file_groups
        problems += file_problems
    rates, rate_problems = load_rates(config_dir)
    problems += rate_problems
    plan_set = PlanSet(plans, groups, rates, fiscal_year_start_month)
    if partners is not None:
        plan_set = PlanSet(plan_set.expand(partners), [], rates, fiscal_year_start_month)
    problems += _cross_check(plan_set.plans, partners)
    if any(p.severity == "error" for p in problems):
        return None, problems
    return plan_set, problems
