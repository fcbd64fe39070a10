"""Importing a sheet into a plans file: every problem at its row, text kept as text, files kept."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from partnerplan.errors import ConfigProblems
from plans import csvimport
from plans.csvimport import ImportResult, import_csv, validate_in_copy, write_atomically
from plans.planfile import load_plans
from tests.plans.factories import catalogue

OTHER = """\
version: 1
plans:
  - key: P-1-2026-Q3
    partner: P-1
    period: 2026-Q3
    sections:
      - name: Sales
        targets:
          - {metric: won_deals, value: 4}
"""


@pytest.fixture
def root(tmp_path) -> Path:
    """A config directory whose plans/other.yaml holds P-1's 2026-Q3 plan."""
    (tmp_path / "config" / "plans").mkdir(parents=True)
    (tmp_path / "config" / "plans" / "other.yaml").write_text(OTHER)
    return tmp_path / "config"


def _load(root: Path) -> None:
    """The plans loader as `validate` runs it, raising on errors."""
    plans, problems = load_plans(root, catalogue(), fiscal_year_start_month=1)
    if plans is None:
        raise ConfigProblems(problems)


def merge(root: Path, text: str, name: str = "sheet.csv", **options) -> ImportResult:
    """Import ``text`` as ``name`` next to ``root``, validated but not written."""
    sheet = root.parent / name
    sheet.write_text(text, encoding="utf-8")
    plans, problems = load_plans(root, catalogue(), fiscal_year_start_month=1)
    assert plans is not None, problems
    result = import_csv(
        sheet, root / "plans", catalogue(), plans.plans, fiscal_year_start_month=1, **options
    )
    validate_in_copy(root, result, _load)
    return result


def problems(root: Path, text: str, **options) -> list[str]:
    """The rendered problems of importing ``text``, the sheet's path cut to its name."""
    with pytest.raises(ConfigProblems) as info:
        merge(root, text, **options)
    return [p.render().replace(str(root.parent) + "/", "") for p in info.value.problems]


def written(result: ImportResult) -> dict:
    """The merged file as the config loader's YAML reads it."""
    data: dict = yaml.safe_load(result.text)
    return data


def test_every_problem_of_a_row_is_reported_with_its_column(root):
    """A row with a bad period, metric and value gets three problems at its line, by column."""
    sheet = "partner,period,metric,value,currency\nP-2,2026-Q9,won_revenu,12x,USD\n"
    expected = [
        "sheet.csv:2: value: '12x' is not a number; write digits, e.g. 1234.56",
        "sheet.csv:2: period: period '2026-Q9' does not parse; write 2026, 2026-Q4, 2026-H1, "
        "2026-03, FY2027 or FY2027-Q1 (fiscal periods follow settings fiscal_year_start_month)",
        "sheet.csv:2: metric: unknown metric 'won_revenu' (neither a key nor a label); did you "
        "mean 'won_revenue'?",
    ]
    assert expected == problems(root, sheet)


def test_a_money_target_needs_a_currency_and_others_none(root):
    """won_revenue without a currency and won_deals with one are both reported, by column."""
    sheet = (
        "partner,period,metric,value,currency\n"
        "P-2,2026-Q4,won_revenue,5,\n"
        "P-2,2026-Q4,won_deals,5,USD\n"
    )
    expected = [
        "sheet.csv:2: currency: won_revenue is a money metric: fill in the currency (e.g. USD)",
        "sheet.csv:3: currency: won_deals is not money; leave the currency empty",
    ]
    assert expected == problems(root, sheet)


def test_a_semicolon_sheet_with_decimal_commas_imports_with_the_option(root):
    """`;` is detected from the header; --decimal-separator , reads 1.234,56 as 1234.56."""
    sheet = "partner;period;metric;value;currency\nP-2;2026-Q4;won_revenue;1.234,56;USD\n"
    result = merge(root, sheet, decimal=csvimport.DecimalSeparator.comma)
    target = written(result)["plans"][0]["sections"][0]["targets"][0]
    assert {"metric": "won_revenue", "value": 1234.56, "currency": "USD"} == target


def test_the_same_sheet_without_the_option_names_it(root):
    """Without the option the decimal comma is refused, and the message names the option."""
    sheet = "partner;period;metric;value;currency\nP-2;2026-Q4;won_revenue;1.234,56;USD\n"
    expected = [
        "sheet.csv:2: value: '1.234,56' has a decimal comma; pass --decimal-separator , to read "
        "the sheet that way (or write 1234.56)"
    ]
    assert expected == problems(root, sheet)


def test_an_explicit_delimiter_is_used(root):
    """`--delimiter |` splits on |, which detection would not choose."""
    sheet = "partner|period|metric|value\nP-2|2026-Q4|won_deals|7\n"
    result = merge(root, sheet, delimiter="|")
    assert 7 == written(result)["plans"][0]["sections"][0]["targets"][0]["value"]


def test_metric_labels_and_any_capitalisation_are_accepted(root):
    """`Closed-won revenue`, `ACTIVE` and `2026-q4` become won_revenue, active and 2026-Q4."""
    sheet = (
        "Partner,Period,Metric,Value,Currency,Status\nP-2,2026-q4,Closed-won revenue,5,usd,ACTIVE\n"
    )
    plan = written(merge(root, sheet))["plans"][0]
    actual = (plan["key"], plan["period"], plan["status"], plan["sections"][0]["targets"][0])
    expected = (
        "P-2-2026-Q4",
        "2026-Q4",
        "active",
        {"metric": "won_revenue", "value": 5, "currency": "USD"},
    )
    assert expected == actual


@pytest.mark.parametrize(
    "cell", ["yes", "No", "on", "1e3", "null", "~", ":", "a: b", "1:30", "2026", "0x1F", "#x"]
)
def test_a_cell_is_written_so_that_it_reads_back_as_the_same_text(root, cell):
    """Values YAML would reinterpret (`yes`, `1e3`, `null`, `:`) are quoted; they read back."""
    row = f'"{cell}",2026-Q4,won_deals,1,"{cell}","{cell}"\n'
    sheet = "partner,period,metric,value,owner,section\n" + row
    plan = written(merge(root, sheet))["plans"][0]
    assert (cell, cell, cell) == (plan["partner"], plan["owner"], plan["sections"][0]["name"])


def test_a_dollar_stays_a_dollar(root, monkeypatch):
    """`Q4-${HUBSPOT_TOKEN}` is written as that text; the variable's value appears nowhere."""
    monkeypatch.setenv("HUBSPOT_TOKEN", "pat-na1-not-for-files")
    sheet = root.parent / "sheet.csv"
    sheet.write_text(
        "partner,period,metric,value,plan\nP-2,2026-Q4,won_deals,1,Q4-${HUBSPOT_TOKEN}\n"
    )
    result = import_csv(sheet, root / "plans", catalogue(), [], fiscal_year_start_month=1)
    actual = (written(result)["plans"][0]["key"], "pat-na1" in result.text)
    assert ("Q4-${HUBSPOT_TOKEN}", False) == actual


ROUND_TRIP = """\
# Q4 plans, agreed with the channel team. Keep this comment.
version: 1
plans:
  - key: P-2-2026-Q4
    partner: P-2
    period: 2026-Q4
    status: active   # accepted on the portal
    owner: ana@example.com
    sections:
      - name: Sales
        summary: Hand-written summary.
        targets:
          - {metric: won_revenue, value: 1000, currency: USD, phasing: monthly}  # hand edit
          - {metric: won_deals, value: 3}
        target_accounts: [Globex]
"""


def test_updating_a_file_keeps_its_comments_order_and_hand_edits(root):
    """Re-importing changes only the value the sheet changes; comments and phasing stay."""
    (root / "plans" / "sheet.yaml").write_text(ROUND_TRIP)
    sheet = "partner,period,metric,value,currency\nP-2,2026-Q4,won_revenue,2000,USD\n"
    result = merge(root, sheet)
    expected = ROUND_TRIP.replace("value: 1000,", "value: 2000,")
    assert expected == result.text


def test_a_new_target_joins_its_section_and_a_new_plan_follows_the_others(root):
    """A new metric lands in the named section; a new partner's plan is appended."""
    (root / "plans" / "sheet.yaml").write_text(ROUND_TRIP)
    sheet = (
        "partner,period,metric,value,section\n"
        "P-2,2026-Q4,new_logos,4,sales\n"
        "P-3,2026-Q4,won_deals,2,\n"
    )
    result = merge(root, sheet)
    expected = ROUND_TRIP.replace(
        "          - {metric: won_deals, value: 3}\n",
        "          - {metric: won_deals, value: 3}\n          - {metric: new_logos, value: 4}\n",
    ) + (
        "  - key: P-3-2026-Q4\n"
        "    partner: P-3\n"
        "    period: 2026-Q4\n"
        "    status: draft\n"
        "    sections:\n"
        "      - name: Objectives\n"
        "        targets:\n"
        "          - {metric: won_deals, value: 2}\n"
    )
    assert expected == result.text


def test_a_target_named_in_another_section_moves_there(root):
    """won_deals with section `Pipeline` leaves Sales for a new Pipeline section."""
    (root / "plans" / "sheet.yaml").write_text(ROUND_TRIP)
    sheet = "partner,period,metric,value,section\nP-2,2026-Q4,won_deals,3,Pipeline\n"
    sections = written(merge(root, sheet))["plans"][0]["sections"]
    actual = [(s["name"], [t["metric"] for t in s["targets"]]) for s in sections]
    assert [("Sales", ["won_revenue"]), ("Pipeline", ["won_deals"])] == actual


def test_a_plan_key_used_by_another_file_is_reported_at_the_row(root):
    """P-1's 2026-Q3 plan lives in other.yaml: the row that reuses its key is line 3."""
    sheet = "partner,period,metric,value\nP-2,2026-Q3,won_deals,1\nP-1,2026-Q3,won_deals,2\n"
    expected = [
        "sheet.csv:3: plan: plan key 'P-1-2026-Q3' is already used by "
        "config/plans/other.yaml:3; plan keys are unique across config/plans: put "
        "another key in the plan column, or edit that plan there"
    ]
    assert expected == problems(root, sheet)


def test_an_overlapping_period_for_a_partner_is_reported_at_the_row(root):
    """P-1 has 2026-Q3 in other.yaml; a 2026-08 plan for P-1 overlaps it (column period)."""
    sheet = "partner,period,metric,value\nP-1,2026-08,won_deals,1\n"
    expected = [
        "sheet.csv:2: period: partner P-1 already has plan 'P-1-2026-Q3' for 2026-Q3 "
        "(config/plans/other.yaml:3), which overlaps 2026-08: put P-1-2026-Q3 in the "
        "plan column to add to it, or change the period"
    ]
    assert expected == problems(root, sheet)


def test_rows_that_disagree_about_their_plan_are_reported(root):
    """The same target twice, and two statuses for one plan, are reported at the later rows."""
    sheet = (
        "partner,period,metric,value,status\n"
        "P-2,2026-Q4,won_deals,1,active\n"
        "P-2,2026-Q4,won_deals,2,\n"
        "P-2,2026-Q4,new_logos,2,draft\n"
    )
    expected = [
        "sheet.csv:3: key: plan 'P-2-2026-Q4' already gets target 'won_deals' from line 2; "
        "remove one of the rows, or tell them apart with the key column",
        "sheet.csv:4: status: plan 'P-2-2026-Q4' has status 'active' on line 2; a plan has one "
        "status: make the rows agree",
    ]
    assert expected == problems(root, sheet)


def test_a_conflict_found_only_by_the_loader_is_mapped_back_to_the_row(root, monkeypatch):
    """With the row checks off, the loader's own problems still land on the sheet's row."""
    monkeypatch.setattr("plans.csvimport.importer.Conflicts.check", lambda self, row: [])
    sheet = "partner,period,metric,value\nP-2,2026-Q4,won_deals,1\nP-1,2026-Q3,new_logos,1\n"
    expected = [
        "sheet.csv:3: plan 'P-1-2026-Q3' (2026-Q3) overlaps plan 'P-1-2026-Q3' (2026-Q3, "
        "config/plans/other.yaml:3) for partner P-1; merge them or change a period",
        "sheet.csv:3: plan key 'P-1-2026-Q3' is already used (config/plans/other.yaml:3); plan "
        "keys must be unique",
    ]
    assert expected == problems(root, sheet)


def test_the_header_is_checked_before_any_row(root):
    """An unknown column gets a suggestion; a missing required column is named."""
    sheet = "partner,period,metric,curency\nP-2,2026-Q4,won_deals,USD\n"
    expected = [
        "sheet.csv:1: the header lacks value; the first line must name the columns, at least "
        "partner, period, metric, value",
        "sheet.csv:1: unknown column 'curency'; did you mean 'currency'?",
    ]
    assert expected == problems(root, sheet)


def test_a_sheet_that_is_not_utf8_says_so_at_its_line(root):
    """A Latin-1 byte on line 3 is reported there, with how to save the sheet."""
    sheet = root.parent / "sheet.csv"
    sheet.write_bytes(b"partner,period,metric,value\nP-2,2026-Q4,won_deals,1\nP-\xe9,2026-Q4,x,1\n")
    with pytest.raises(ConfigProblems) as info:
        import_csv(sheet, root / "plans", catalogue(), [], fiscal_year_start_month=1)
    assert [f"{sheet}:3: not UTF-8 text; save the sheet as CSV UTF-8"] == [
        p.render() for p in info.value.problems
    ]


def test_a_header_without_rows_is_an_error(root):
    """A sheet with only its header imports nothing and says so."""
    expected = ["sheet.csv:1: no rows under the header (partner, period, metric, value)"]
    assert expected == problems(root, "partner,period,metric,value\n\n")


def test_problems_past_fifty_are_counted_not_listed(root):
    """120 bad rows: the first 50 errors are listed, then one line counts the other 70."""
    sheet = "partner,period,metric,value\n" + "P-2,2026-Q4,won_deals,x\n" * 120
    listed = problems(root, sheet)
    expected = (
        "sheet.csv:121: and 70 more errors up to this line (the first 50 are listed); fix those "
        "and import again"
    )
    assert (51, expected) == (len(listed), listed[-1])


def test_a_percentage_written_as_a_fraction_is_a_warning_and_still_imports(root):
    """win_rate 0.35 imports with a warning at its row; `0.35%` is explicit and is not warned."""
    sheet = "partner,period,metric,value\nP-2,2026-Q4,win_rate,0.35\nP-3,2026-Q4,win_rate,0.35%\n"
    result = merge(root, sheet)
    expected = [
        f"{root.parent / 'sheet.csv'}:2: warning: value: win_rate is a percentage from 0 to 100: "
        "0.35 means 0.35 %; if the target is 35 %, write 35"
    ]
    assert expected == [w.render() for w in result.warnings]
    assert 2 == len(written(result)["plans"])


def test_the_import_stops_reading_once_the_file_would_pass_the_size_limit(root, monkeypatch):
    """With a 10,000-byte limit, reading stops at line 240: 239 targets of 42+ bytes pass it."""
    monkeypatch.setattr("plans.csvimport.importer.MAX_CONFIG_BYTES", 10_000)
    rows = "".join(f"P-{i:03d},2026-Q4,won_deals,1\n" for i in range(400))
    listed = problems(root, "partner,period,metric,value\n" + rows)
    expected = [
        "sheet.csv:240: stopped reading at line 240: the rows so far make sheet.yaml larger "
        "than 10,000 bytes, the limit of a config file: split the sheet into several files "
        "(e.g. one per period or region) and import each; each becomes its own plans file"
    ]
    assert expected == listed


def test_a_write_replaces_the_file_whole_and_keeps_its_mode(root):
    """The merged text replaces the old file, with the old file's permissions, no temp left."""
    target = root / "plans" / "sheet.yaml"
    target.write_text(ROUND_TRIP)
    target.chmod(0o640)
    result = merge(root, "partner,period,metric,value,currency\nP-2,2026-Q4,won_revenue,5,USD\n")
    write_atomically(result)
    actual = (target.read_text(), target.stat().st_mode & 0o777, sorted(os_names(root / "plans")))
    assert (result.text, 0o640, ["other.yaml", "sheet.yaml"]) == actual


def test_a_file_edited_during_the_import_is_not_overwritten(root):
    """If the plans file changed since it was read, the write refuses and keeps the edit."""
    target = root / "plans" / "sheet.yaml"
    target.write_text(ROUND_TRIP)
    result = merge(root, "partner,period,metric,value,currency\nP-2,2026-Q4,won_revenue,5,USD\n")
    target.write_text(ROUND_TRIP + "# edited meanwhile\n")
    with pytest.raises(csvimport.files.ConfigurationError):
        write_atomically(result)
    assert ROUND_TRIP + "# edited meanwhile\n" == target.read_text()


def os_names(directory: Path) -> list[str]:
    """Every entry of ``directory``, hidden ones included."""
    return [p.name for p in directory.iterdir()]
