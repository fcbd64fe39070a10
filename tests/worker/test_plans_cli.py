"""The plan commands: compute, status (table/json/csv), explain, metrics list, plans import."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import Session

from plans.db import create_all, make_engine
from tests.plans.factories import STATUS_COLUMNS, activity, add_activities, add_partners, utc
from worker.cli import run

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
          - {metric: win_rate, value: 50}
"""


@pytest.fixture
def project(tmp_path):
    """A config directory and a SQLite store with partner P-1: two won deals and one lost."""
    db = tmp_path / "store.db"
    root = tmp_path / "config"
    (root / "plans").mkdir(parents=True)
    (root / "settings.yaml").write_text(f"version: 1\ndatabase_url: sqlite:///{db}\n")
    (root / "plans" / "p1.yaml").write_text(PLAN)
    engine = make_engine(f"sqlite:///{db}")
    create_all(engine)
    with Session(engine) as session:
        ids = add_partners(session, "P-1")
        add_activities(
            session,
            [
                activity(
                    ids["P-1"],
                    "opportunity",
                    record_id="OPP-1",
                    status="won",
                    amount="300",
                    occurred_on=date(2026, 4, 3),
                    created_at=utc(2026, 3, 1),
                ),
                activity(
                    ids["P-1"],
                    "opportunity",
                    record_id="OPP-2",
                    status="won",
                    amount="200",
                    occurred_on=date(2026, 5, 3),
                ),
                activity(
                    ids["P-1"],
                    "opportunity",
                    record_id="OPP-3",
                    status="lost",
                    amount="900",
                    occurred_on=date(2026, 6, 3),
                ),
            ],
        )
        session.commit()
    engine.dispose()
    return root


def _compute(root, capsys) -> str:
    code = run(["compute", "--config", str(root), "--as-of", "2026-08-01"])
    out = capsys.readouterr().out
    assert code == 0
    return out


def test_compute_reports_targets_and_changes(project, capsys):
    """`compute` syncs the plan and computes its two targets; a rerun changes nothing."""
    first = run(["compute", "--config", str(project), "--as-of", "2026-06-01"])
    first_out = capsys.readouterr().out
    second = run(["compute", "--config", str(project), "--as-of", "2026-06-01T18:00"])
    second_out = capsys.readouterr().out
    assert (first, second) == (0, 0)
    assert "computed 2 targets, 2 changed" in first_out
    assert "0 plans changed in config; computed 2 targets, 0 changed" in second_out


def test_a_closed_period_is_computed_once_then_frozen(project, capsys):
    """After its period ends a plan is computed once more; then `compute --plan` says why not."""
    first = _compute(project, capsys)
    code = run(["compute", "--config", str(project), "--plan", "P-1-2026-Q2"])
    captured = capsys.readouterr()
    assert "computed 2 targets, 2 changed" in first
    assert "their final numbers are frozen" in first
    assert code == 0
    assert "computed 0 targets" in captured.out
    assert "plan 'P-1-2026-Q2': its period ended on 2026-07-01" in captured.err


def test_compute_of_an_unknown_plan_is_an_error(project, capsys):
    """`compute --plan NOPE` exits 2 naming the plan, instead of computing nothing silently."""
    code = run(["compute", "--config", str(project), "--plan", "NOPE"])
    assert (code, "no plan 'NOPE'") == (2, capsys.readouterr().err.split(" in config")[0][7:])


def test_status_json_lists_each_target(project, capsys):
    """`status --format json` gives actual, attainment and status of every target."""
    _compute(project, capsys)
    assert run(["status", "--config", str(project), "--format", "json"]) == 0
    lines = json.loads(capsys.readouterr().out)
    got = {(x["target"], x["actual"], x["attainment"], x["status"]) for x in lines}
    assert {
        ("won_revenue", "500.0000", "0.5000", "off_track"),
        ("win_rate", "66.6700", "1.3334", "achieved"),
    } == got


def test_status_json_and_csv_keep_their_columns_in_order(project, capsys):
    """Scripts read these names: JSON keys and the CSV header are the same list, in order."""
    _compute(project, capsys)
    assert run(["status", "--config", str(project), "--format", "json"]) == 0
    keys = [list(x) for x in json.loads(capsys.readouterr().out)]
    assert run(["status", "--config", str(project), "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0].split(",")
    assert [STATUS_COLUMNS] * 3 == [*keys, header]


def test_status_table_shows_partner_metric_and_a_bar(project, capsys):
    """The table names the partner, the metric label and draws the attainment bar."""
    _compute(project, capsys)
    assert run(["status", "--config", str(project)]) == 0
    out = capsys.readouterr().out
    assert "Closed-won revenue" in out and "█████░░░░░ 50%" in out and "P-1" in out


def test_status_csv_has_a_header_and_a_row_per_target(project, capsys):
    """`status --format csv` is one header and one line per target."""
    _compute(project, capsys)
    assert run(["status", "--config", str(project), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (len(lines), lines[0].split(",")[0]) == (3, "partner")


def test_explain_lists_the_activities_behind_an_actual(project, capsys):
    """`explain PLAN METRIC` shows the won deals that make the revenue."""
    _compute(project, capsys)
    assert (
        run(["explain", "P-1-2026-Q2", "won_revenue", "--config", str(project), "-f", "json"]) == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [(r["record_id"], r["amount"]) for r in rows] == [
        ("OPP-1", "300.0000"),
        ("OPP-2", "200.0000"),
    ]


def test_explain_an_unknown_target_names_the_targets(project, capsys):
    """Asking for a metric the plan has no target for lists the plan's targets; exit 2."""
    _compute(project, capsys)
    assert run(["explain", "P-1-2026-Q2", "new_logos", "--config", str(project)]) == 2
    assert "its targets: won_revenue, win_rate" in capsys.readouterr().err


def test_metrics_list_prints_the_catalogue(project, capsys):
    """`metrics list --format json` lists at least 50 standard metrics."""
    assert run(["metrics", "list", "--config", str(project), "--format", "json"]) == 0
    keys = [m["key"] for m in json.loads(capsys.readouterr().out)]
    assert len(keys) >= 50 and "won_revenue" in keys


def test_plans_import_writes_a_plan_file_that_validates(project, tmp_path, capsys):
    """A CSV of partner x metric rows becomes config/plans/<name>.yaml; reimport updates it."""
    sheet = tmp_path / "q3-targets.csv"
    sheet.write_text(
        "Partner,Period,Metric,Value,Currency,Status\n"
        'P-1,2026-Q3,won_revenue,"120,000",USD,active\n'
        "P-1,2026-Q3,win_rate,40,,active\n"
    )
    decimal = ["--decimal-separator", "."]  # "120,000" is 120 where the comma is the decimal
    assert run(["plans", "import", str(sheet), "--config", str(project), *decimal]) == 0
    sheet.write_text("partner,period,metric,value,currency\nP-1,2026-Q3,won_revenue,150000,USD\n")
    assert run(["plans", "import", str(sheet), "--config", str(project)]) == 0
    written = (project / "plans" / "q3-targets.yaml").read_text()
    assert "value: 150000" in written and "win_rate" in written and "120000" not in written
    assert run(["validate", "--config", str(project)]) == 0


def test_plans_import_reports_every_bad_row_by_line(project, tmp_path, capsys):
    """Each bad row is reported as FILE.csv:LINE and nothing is written; exit 2."""
    sheet = tmp_path / "bad.csv"
    sheet.write_text(
        "partner,period,metric,value,currency\n"
        "P-1,2026-Q3,won_revenue,100,\n"
        "P-1,2026-Q3,won_deals,10,\n"
        "P-1,2026-Q9,won_deals,10,\n"
        "P-1,2026-Q3,win_rate,140,\n"
    )
    assert run(["plans", "import", str(sheet), "--config", str(project)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert [f"{sheet}:2", f"{sheet}:4", f"{sheet}:5"] == [e.split(": ")[0] for e in err]
    assert not (project / "plans" / "bad.yaml").exists()


def test_validate_reports_a_bad_plan(project, capsys):
    """`validate` covers plans: an unknown metric exits 2 with FILE:LINE."""
    (project / "plans" / "p1.yaml").write_text(PLAN.replace("win_rate", "win_rat"))
    assert run(["validate", "--config", str(project)]) == 2
    assert f"{project / 'plans' / 'p1.yaml'}:11:" in capsys.readouterr().err


def test_status_works_from_the_store_alone(project, tmp_path, monkeypatch, capsys):
    """With only --database-url (no config directory), status still lists the progress."""
    _compute(project, capsys)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert run(["status", "--database-url", url, "--format", "json"]) == 0
    assert {x["label"] for x in json.loads(capsys.readouterr().out)} == {
        "Closed-won revenue",
        "Win rate",
    }


def test_explain_a_ratio_lists_numerator_and_denominator(project, capsys):
    """The win rate's lineage: won deals (numerator) and all closed deals (denominator)."""
    _compute(project, capsys)
    assert run(["explain", "P-1-2026-Q2", "win_rate", "--config", str(project), "-f", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    parts = [(line.split(",")[0], line.split(",")[2]) for line in lines[1:]]
    assert parts == [
        ("won_deals", "OPP-1"),
        ("won_deals", "OPP-2"),
        ("closed_deals", "OPP-1"),
        ("closed_deals", "OPP-2"),
        ("closed_deals", "OPP-3"),
    ]


def test_status_table_has_section_and_target_key_columns_and_units(project, capsys):
    """Each row names its section and target key; a percent reads `66.7 %`, money `USD`."""
    _compute(project, capsys)
    assert run(["status", "--config", str(project)]) == 0
    out = capsys.readouterr().out
    assert "Sales objectives" in out and "won_revenue" in out
    assert "66.7 %" in out and "50 %" in out and "1,000 USD" in out


def test_status_of_an_unknown_plan_or_partner_is_an_error(project, capsys):
    """`--plan NOPE` exits 2 naming the plan (and the closest key), never an empty table."""
    _compute(project, capsys)
    assert run(["status", "--config", str(project), "--plan", "P-1-2026-Q3"]) == 2
    plan_error = capsys.readouterr().err
    assert run(["status", "--config", str(project), "--partner", "NOPE"]) == 2
    partner_error = capsys.readouterr().err
    assert "no plan 'P-1-2026-Q3' in the store; did you mean 'P-1-2026-Q2'?" in plan_error
    assert "no partner 'NOPE' in the store" in partner_error


def test_plans_show_lists_the_plans_in_the_store(project, capsys):
    """`plans show` lists each stored plan with its sections and number of targets."""
    _compute(project, capsys)
    assert run(["plans", "show", "--config", str(project), "--format", "json"]) == 0
    (plan,) = json.loads(capsys.readouterr().out)
    assert ("P-1-2026-Q2", "P-1", ["Sales objectives"], 2) == (
        plan["plan"],
        plan["partner"],
        plan["sections"],
        plan["targets"],
    )


def test_read_only_commands_need_no_crm_secret(project, capsys):
    """With a settings.yaml naming unset CRM variables, status still reads the store."""
    _compute(project, capsys)
    settings = project / "settings.yaml"
    settings.write_text(
        settings.read_text()
        + "sources:\n  hubspot:\n    type: hubspot\n    token: ${UNSET_HUBSPOT_TOKEN}\n"
    )
    assert run(["status", "--config", str(project), "--format", "json"]) == 0
    assert 2 == len(json.loads(capsys.readouterr().out))
    assert run(["validate", "--config", str(project)]) == 2  # a sync would still need it
