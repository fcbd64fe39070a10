"""Plan checks that are warnings: the plan loads, and `validate` shows the warning at its line."""

from __future__ import annotations

from plans.planfile import load_plans
from tests.plans.factories import catalogue

PLAN = """\
version: 1
plans:
  - key: P-1-2026-Q4
    partner: P-1
    period: 2026-Q4
    sections:
      - name: Sales
        targets:
          - {metric: win_rate, value: 0.35}
          - {metric: lead_conversion_rate, value: 35}
"""


def test_a_percentage_written_as_a_fraction_is_a_warning(tmp_path):
    """`win_rate: 0.35` loads, with a warning at its line that suggests 35."""
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "plan.yaml").write_text(PLAN)
    plans, problems = load_plans(tmp_path, catalogue(), fiscal_year_start_month=1)
    expected = [
        f"{tmp_path / 'plans' / 'plan.yaml'}:9: warning: plans[0].sections[0].targets[0].value: "
        "win_rate is a percentage from 0 to 100: 0.35 means 0.35 %; if the target is 35 %, "
        "write 35"
    ]
    assert expected == [p.render() for p in problems]
    assert plans is not None
    assert ["P-1-2026-Q4"] == [p.key for p in plans.plans]
