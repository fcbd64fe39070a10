"""The write-back commands against the sandbox: push --dry-run, push, push errors, crm setup."""

from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import func, select
from sqlmodel import Session

from plans import migrate
from plans.db import create_all, make_engine
from plans.store import PushStateRow
from tests.writeback.helpers import seed
from tests.writeback.test_push import SHIPPED
from tests.writeback.test_sandbox import partner_ids
from worker.cli import run

SETTINGS = """\
version: 1
sources:
  salesforce:
    type: salesforce
    instance_url: {sf_url}
    ca_bundle: {ca}
    auth:
      flow: session
      session_id: ${{SF_SESSION_ID}}
  hubspot:
    type: hubspot
    base_url: {hs_url}
    token: ${{HUBSPOT_TOKEN}}
"""


@pytest.fixture
def project(sandbox, tmp_path, monkeypatch):
    """A config dir pointing at the sandbox, and a store seeded with 2 partners x 3 targets."""
    config = tmp_path / "config"
    config.mkdir()
    config.joinpath("settings.yaml").write_text(
        SETTINGS.format(
            sf_url=sandbox.salesforce_url, ca=sandbox.ca_bundle, hs_url=sandbox.hubspot_url
        )
    )
    config.joinpath("writeback.yaml").write_text(SHIPPED.read_text())
    monkeypatch.setenv("SF_SESSION_ID", sandbox.salesforce_session_id)
    monkeypatch.setenv("HUBSPOT_TOKEN", sandbox.hubspot_token)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    create_all(engine)
    with engine.begin() as connection:  # tables from the models; the migration is regenerated later
        command.stamp(migrate._config(connection), "head")
    sf_ids, hs_ids = partner_ids(sandbox)
    with Session(engine) as session:
        seed(session, partners=2, targets=3, sf_ids=sf_ids, hs_ids=hs_ids)
        session.commit()
    return config, url, engine


def test_dry_run_shows_old_and_new_values_and_calls_and_writes_nothing(project, sandbox, capsys):
    """push --dry-run lists per partner and field old -> new and the API calls; nothing is sent."""
    config, url, engine = project
    code = run(["push", "--dry-run", "--config", str(config), "--database-url", url])
    out = capsys.readouterr().out
    assert code == 0
    assert (
        "salesforce: 8 record(s) would be written in 4 API call(s) (2 write, 2 field check, 0 "
        in out
    )
    assert (
        "hubspot: 8 record(s) would be written in 5 API call(s) (2 write, 2 field check, 1 " in out
    )
    assert "  P-00001\n" in out and "      Actual__c: (none) → 625.5" in out
    assert (
        sandbox.stats("salesforce")["write_calls"],
        sandbox.stats("hubspot")["write_calls"],
    ) == (0, 0)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PushStateRow)) == 0


def test_dry_run_after_a_push_shows_only_the_changed_field(project, capsys):
    """Once pushed, a dry run shows a changed value as old -> new and no untouched field."""
    from decimal import Decimal

    from tests.writeback.helpers import set_actual

    config, url, engine = project
    assert run(["push", "--config", str(config), "--database-url", url]) == 0
    with Session(engine) as session:
        set_actual(session, 1, Decimal("700.00"))
        session.commit()
    capsys.readouterr()
    run(["push", "--dry-run", "--format", "json", "--config", str(config), "--database-url", url])
    report = json.loads(capsys.readouterr().out)
    records = report["salesforce"]["partners"]["P-00001"]
    assert records == [
        {
            "record": "P-00001-2026:t0000",
            "part": "progress",
            "changes": {"Actual__c": {"old": "625.5", "new": "700"}},
        }
    ]
    assert report["salesforce"]["api_calls"] == 2


def test_push_lists_rejected_records_and_exits_1(project, sandbox, capsys):
    """A rejected record fails the push (exit 1) and `push errors` shows the CRM's message."""
    config, url, _ = project
    sandbox.set_faults("salesforce", fail_ids=["P-00002-2026:t0002"])
    code = run(["push", "--config", str(config), "--database-url", url])
    out = capsys.readouterr().out
    assert code == 1
    assert "salesforce: 7 landed, 1 rejected" in out
    assert (
        run(["push", "errors", "--format", "json", "--config", str(config), "--database-url", url])
        == 0
    )
    listing = json.loads(capsys.readouterr().out)
    assert [(e["destination"], e["record"], e["attempts"]) for e in listing] == [
        ("salesforce", "P-00002-2026:t0002", 1)
    ]
    assert listing[0]["error"]


def test_crm_setup_hubspot_creates_what_is_missing_once(project, capsys):
    """setup plans only missing pieces, --dry-run changes nothing, a second run does nothing."""
    config, _, _ = project
    text = SHIPPED.read_text().replace(
        "        computed_at: plan_computed_at\n",
        "        computed_at: plan_computed_at\n        plan_key: plan_key_current\n",
    )
    config.joinpath("writeback.yaml").write_text(text)
    args = ["crm", "setup", "hubspot", "--config", str(config)]
    assert run([*args, "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "would create property plan_key_current (string) on companies" in dry
    assert run(args) == 0
    assert "change(s) applied" in capsys.readouterr().out
    assert run(args) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_push_dry_run_and_push_errors_print_csv(project, sandbox, capsys):
    """`--format csv` prints a header and rows, never a table: dry run and rejected records."""
    import csv
    import io

    config, url, _ = project
    base = ["--config", str(config), "--database-url", url, "--format", "csv"]
    assert run(["push", "--dry-run", *base]) == 0
    dry = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    sandbox.set_faults("salesforce", fail_ids=["P-00002-2026:t0002"])
    assert run(["push", "--config", str(config), "--database-url", url]) == 1
    capsys.readouterr()
    assert run(["push", "errors", *base]) == 0
    errors = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {"salesforce", "hubspot"} == {row["destination"] for row in dry}
    assert [("salesforce", "P-00002-2026:t0002", "1")] == [
        (row["destination"], row["record"], row["attempts"]) for row in errors
    ]
