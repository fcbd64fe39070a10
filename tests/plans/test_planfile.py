"""Plan files: valid plans and templates load; each mistake is reported at FILE:LINE."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from plans.planfile import load_plans
from tests.plans.factories import catalogue

BAD = Path(__file__).resolve().parent.parent / "fixtures" / "bad-plans"
CONFIG = Path(__file__).resolve().parents[2] / "config"
PARTNERS = {
    "P-00001": "Gold",
    "P-00002": "Silver",
    "P-00003": None,
    "P-00004": "Gold",
    "P-00005": None,
    "P-00006": None,
}


def _problems(case: str, **kwargs) -> list[str]:
    root = BAD / case
    plans, problems = load_plans(root, catalogue(), fiscal_year_start_month=1, **kwargs)
    assert plans is None
    return [p.render().removeprefix(str(root / "plans" / "plan.yaml")) for p in problems]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (
            "unknown-metric",
            ":9: plans[0].sections[0].targets[0].metric: unknown metric "
            "'won_revenu'; did you mean 'won_revenue'?",
        ),
        (
            "money-without-currency",
            ":9: plans[0].sections[0].targets[0].currency: won_revenue is a money "
            "metric: add currency: (e.g. currency: USD)",
        ),
        (
            "percent-above-100",
            ":10: plans[0].sections[0].targets[0].value: win_rate is a "
            "percentage; the target must be between 0 and 100, not 135",
        ),
        (
            "bad-period",
            ":5: plans[0].period: period '2026-Q5' does not parse; write 2026, "
            "2026-Q4, 2026-H1, 2026-03, FY2027 or FY2027-Q1 (fiscal periods follow "
            "settings fiscal_year_start_month)",
        ),
        (
            "bad-phasing",
            ":11: plans[0].sections[0].targets[0].phasing.2027-01: phasing month "
            "'2027-01' is not a month of 2026-Q4 (2026-10, 2026-11, 2026-12)",
        ),
    ],
)
def test_a_bad_plan_is_reported_at_its_line(case, expected):
    """Unknown metric, money without currency, percent over 100, bad period, bad phasing."""
    assert [expected] == _problems(case)


def test_overlapping_plans_for_one_partner_are_an_error():
    """Two plans of P-00001 covering November 2026 overlap: the second is reported."""
    root = BAD / "overlap"
    expected = [
        f":7: plan 'P-00001-2026-11' (2026-11) overlaps plan 'P-00001-2026-Q4' (2026-Q4, "
        f"{root / 'plans' / 'plan.yaml'}:3) for partner P-00001; merge them or change a period"
    ]
    assert expected == _problems("overlap")


def test_an_unknown_partner_is_an_error_when_partners_are_known():
    """With the store's partners given, a plan for P-09999 is reported."""
    expected = [
        ":4: unknown partner 'P-09999' in plan 'P-09999-2026-Q4'; use a partner key "
        "from the CRM (Partner_Key__c / partner_key)"
    ]
    assert expected == _problems("unknown-partner", partners=PARTNERS)


def test_the_shipped_example_plans_load():
    """config/plans: explicit plans, a partner-list template and a Gold-tier template."""
    plans, problems = load_plans(CONFIG, catalogue(), fiscal_year_start_month=1)
    assert [p.render() for p in problems] == []
    assert plans is not None
    assert {"P-00001-2026-Q4", "P-00003-2026-Q4", "P-00005-2026-Q4"} <= {p.key for p in plans.plans}
    assert [g.template.tier for g in plans.groups] == ["Gold"]


def test_a_tier_template_expands_with_overrides_and_yields_to_an_own_plan():
    """Gold P-00004 gets the template with its override; Gold P-00001 keeps its own plan."""
    plans, _ = load_plans(CONFIG, catalogue(), fiscal_year_start_month=1, partners=PARTNERS)
    assert plans is not None
    by_key = {p.key: p for p in plans.plans}
    revenue = {t.key: t.value for t in by_key["P-00004-2026-Q4"].targets}["won_revenue"]
    assert Decimal(300000) == revenue
    assert by_key["P-00001-2026-Q4"].owner == "ana.channel@example.com"
    assert "P-00006-2026-Q4" not in by_key  # skipped by its override


def test_the_definition_hash_changes_with_a_target_value():
    """Editing a target value changes the plan's hash (so it is re-synced and recomputed)."""
    plans, _ = load_plans(CONFIG, catalogue(), fiscal_year_start_month=1)
    assert plans is not None
    plan = plans.plans[0]
    before = plan.definition_hash()
    plan.targets[0] = type(plan.targets[0])(**{**plan.targets[0].__dict__, "value": Decimal(1)})
    assert before != plan.definition_hash()
