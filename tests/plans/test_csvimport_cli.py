"""`partnerplan plans import`: writes only a config that validates, says what it did or would do."""

from __future__ import annotations

import pytest
import yaml

from worker.cli import run
from worker.project import load_project

PLAN = """\
version: 1
plans:
  - key: P-1-2026-Q2
    partner: P-1
    period: 2026-Q2
    status: active
    sections:
      - name: Sales objectives
        targets:
          - {metric: won_revenue, value: 1000, currency: USD}
"""
TOKEN = "pat-na1-0123456789abcdef"
METRICS = ("won_deals", "new_logos", "opportunities_created", "leads_submitted", "webinars_held")


@pytest.fixture
def project(tmp_path):
    """A config directory with settings and P-1's 2026-Q2 plan."""
    root = tmp_path / "config"
    (root / "plans").mkdir(parents=True)
    (root / "settings.yaml").write_text("version: 1\n")
    (root / "plans" / "p1.yaml").write_text(PLAN)
    return root


def _import(project, sheet, *options: str) -> int:
    return run(["plans", "import", str(sheet), "--config", str(project), *options])


def _targets(path) -> list[dict]:
    """Every target of a plans file, in order, as the config loader's YAML reads them."""
    data = yaml.safe_load(path.read_text())
    return [t for plan in data["plans"] for s in plan["sections"] for t in s["targets"]]


def test_a_dry_run_lists_the_changes_and_writes_nothing(project, tmp_path, capsys):
    """--dry-run prints each new plan and target and the totals; no file appears."""
    sheet = tmp_path / "q3.csv"
    sheet.write_text(
        "partner,period,metric,value,currency\n"
        "P-1,2026-Q3,won_revenue,1200,USD\n"
        "P-2,2026-Q3,Won deals,4,\n"
    )
    assert 0 == _import(project, sheet, "--dry-run")
    expected = [
        f"would create {project / 'plans' / 'q3.yaml'}:",
        "+ plan P-1-2026-Q3 (P-1, 2026-Q3)",
        "  + won_revenue: 1200 USD",
        "+ plan P-2-2026-Q3 (P-2, 2026-Q3)",
        "  + won_deals: 4",
        "2 rows: 2 plans added, 0 updated; 2 targets added, 0 changed, 0 unchanged "
        "(dry run: nothing written)",
    ]
    assert expected == capsys.readouterr().out.splitlines()
    assert [] == [p.name for p in (project / "plans").iterdir() if p.name != "p1.yaml"]


def test_a_dry_run_of_a_reimport_shows_what_changes(project, tmp_path, capsys):
    """Re-importing with one new value: one target changed, one unchanged, one plan updated."""
    sheet = tmp_path / "q3.csv"
    sheet.write_text(
        "partner,period,metric,value\nP-2,2026-Q3,won_deals,4\nP-2,2026-Q3,new_logos,1\n"
    )
    assert 0 == _import(project, sheet)
    sheet.write_text(
        "partner,period,metric,value\nP-2,2026-Q3,won_deals,5\nP-2,2026-Q3,new_logos,1\n"
    )
    capsys.readouterr()
    assert 0 == _import(project, sheet, "--dry-run")
    expected = [
        f"would update {project / 'plans' / 'q3.yaml'}:",
        "~ plan P-2-2026-Q3",
        "  ~ won_deals: 5",
        "2 rows: 0 plans added, 1 updated; 0 targets added, 1 changed, 1 unchanged "
        "(dry run: nothing written)",
    ]
    assert expected == capsys.readouterr().out.splitlines()
    expected_file = [{"metric": "won_deals", "value": 4}, {"metric": "new_logos", "value": 1}]
    assert expected_file == _targets(project / "plans" / "q3.yaml")


def test_an_import_that_would_break_config_writes_nothing(project, tmp_path, capsys):
    """A row whose plan key is P-1-2026-Q2 (in p1.yaml) fails the whole import at its line."""
    existing = project / "plans" / "q2.yaml"
    existing.write_text("# kept as it is\nversion: 1\nplans: []\n")
    sheet = tmp_path / "q2.csv"
    sheet.write_text(
        "partner,period,metric,value\nP-2,2026-Q2,won_deals,1\nP-1,2026-Q2,won_deals,2\n"
    )
    assert 2 == _import(project, sheet)
    expected = [
        f"{sheet}:3: plan: plan key 'P-1-2026-Q2' is already used by "
        f"{project / 'plans' / 'p1.yaml'}:3; plan keys are unique across config/plans: put "
        "another key in the plan column, or edit that plan there"
    ]
    assert expected == capsys.readouterr().err.splitlines()
    assert "# kept as it is\nversion: 1\nplans: []\n" == existing.read_text()


def test_a_fraction_for_a_percentage_is_a_warning_line_and_the_row_imports(
    project, tmp_path, capsys
):
    """win_rate 0.35: a warning on stderr at the row, the target written, exit 0."""
    sheet = tmp_path / "rates.csv"
    sheet.write_text("partner,period,metric,value\nP-2,2026-Q3,win_rate,0.35\n")
    assert 0 == _import(project, sheet)
    expected = [
        f"{sheet}:2: warning: value: win_rate is a percentage from 0 to 100: 0.35 means 0.35 %; "
        "if the target is 35 %, write 35"
    ]
    assert expected == capsys.readouterr().err.splitlines()
    assert [{"metric": "win_rate", "value": 0.35}] == _targets(project / "plans" / "rates.yaml")


def test_a_tab_delimiter_can_be_named(project, tmp_path, capsys):
    """`--delimiter tab` reads a tab-separated export."""
    sheet = tmp_path / "tabs.csv"
    sheet.write_text("partner\tperiod\tmetric\tvalue\nP-2\t2026-Q3\twon_deals\t3\n")
    assert 0 == _import(project, sheet, "--delimiter", "tab")
    assert [{"metric": "won_deals", "value": 3}] == _targets(project / "plans" / "tabs.yaml")


def test_a_bad_delimiter_option_is_bad_input(project, tmp_path, capsys):
    """`--delimiter ab` exits 2 and says what the option takes."""
    sheet = tmp_path / "x.csv"
    sheet.write_text("partner,period,metric,value\nP-2,2026-Q3,won_deals,3\n")
    assert 2 == _import(project, sheet, "--delimiter", "ab")
    expected = [
        "error: --delimiter 'ab': give one character such as , or ; (or tab); not a letter, "
        "digit, quote or space"
    ]
    assert expected == capsys.readouterr().err.splitlines()


def test_a_variable_reference_in_a_cell_never_yields_its_value(
    project, tmp_path, capsys, monkeypatch
):
    """`Q4-${HUBSPOT_TOKEN}` with the variable set: the token is in no file and no output."""
    monkeypatch.setenv("HUBSPOT_TOKEN", TOKEN)
    sheet = tmp_path / "q4.csv"
    sheet.write_text(
        "partner,period,metric,value,plan\nP-2,2026-Q4,won_deals,1,Q4-${HUBSPOT_TOKEN}\n"
    )
    codes = (_import(project, sheet, "--dry-run"), _import(project, sheet))
    codes += (run(["validate", "--config", str(project)]),)
    captured = capsys.readouterr()
    text = (project / "plans" / "q4.yaml").read_text()
    assert ((0, 0, 0), True) == (codes, "key: Q4-${HUBSPOT_TOKEN}\n" in text)
    assert [] == [where for where in (text, captured.out, captured.err) if TOKEN in where]


def test_a_plan_key_with_a_dollar_loads_as_written(project, tmp_path, monkeypatch):
    """After an import, `validate` loads the plan key `Q4-${HUBSPOT_TOKEN}` as that very text."""
    monkeypatch.setenv("HUBSPOT_TOKEN", TOKEN)
    sheet = tmp_path / "q4.csv"
    sheet.write_text(
        "partner,period,metric,value,plan\nP-2,2026-Q4,won_deals,1,Q4-${HUBSPOT_TOKEN}\n"
    )
    assert 0 == _import(project, sheet)
    keys = {plan.key for plan in load_project(project).plans.plans}
    assert {"P-1-2026-Q2", "Q4-${HUBSPOT_TOKEN}"} == keys


def test_a_sheet_of_100k_rows_fails_fast_with_the_reason(project, tmp_path, capsys):
    """100,000 rows cannot fit in one 1 MiB plans file: refused before any row is checked."""
    sheet = tmp_path / "big.csv"
    with sheet.open("w") as out:
        out.write("partner,period,metric,value\n")
        for i in range(100_000):
            out.write(f"P-{i // 5:05d},2026-Q3,{METRICS[i % 5]},{i % 90 + 1}\n")
        out.write("P-X,2026-Q9,no_such_metric,x\n")  # never reached: its problems are not listed
    assert 2 == _import(project, sheet)
    expected = [
        f"{sheet}: the sheet has more than 52,428 rows: its targets cannot fit in one plans file "
        "(config files are limited to 1 MiB, and a target takes at least 20 bytes): split the "
        "sheet into several files (e.g. one per period or region) and import each; each becomes "
        "its own plans file"
    ]
    assert expected == capsys.readouterr().err.splitlines()


def test_a_sheet_of_2k_rows_imports(project, tmp_path, capsys):
    """2,000 rows (400 partners x 5 metrics) become 400 plans in one validated file.

    (10,000 rows took 28-43 s, mostly ruamel's emitter and the loader's parse: too slow for
    every test run; the size limit's fail-fast path is tested at 100,000 rows above.)
    """
    sheet = tmp_path / "q3.csv"
    with sheet.open("w") as out:
        out.write("partner,period,metric,value\n")
        for i in range(2_000):
            out.write(f"P-{i // 5:05d},2026-Q3,{METRICS[i % 5]},{i % 90 + 1}\n")
    assert 0 == _import(project, sheet)
    expected = (
        "2,000 rows: 400 plans added, 0 updated; 2,000 targets added, 0 changed, "
        f"0 unchanged; wrote {project / 'plans' / 'q3.yaml'}"
    )
    assert [expected] == capsys.readouterr().out.splitlines()
    written = yaml.load((project / "plans" / "q3.yaml").read_text(), Loader=yaml.CSafeLoader)
    assert 400 == len(written["plans"])
