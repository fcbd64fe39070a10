"""A newcomer's first hour, as the README tells it: every printed command works as printed."""

from __future__ import annotations

import pytest

from tests.first_hour import BIN, CRM_VARIABLES, ROOT, Walk
from worker.demo import NEXT_COMMANDS

pytestmark = pytest.mark.slow  # ~40 s: the demo, a sandbox, a dozen CLI processes

EXPECTED_AFTER_DEMO = {
    "runs": (0, "partnerplan runs show ID"),
    "status --plan P-00001-2026-Q4": (0, "P-00001-2026-Q4"),
    "explain P-00001-2026-Q4 won_revenue": (0, "/lightning/r/Opportunity/"),
    "quarantine list": (0, ""),
    "status --check": (0, "streams fresh"),
}
"""What each command the demo prints must do: exit code, and a line its output holds."""


def test_the_commands_the_demo_prints_work_as_printed(tmp_path):
    """After the demo, its closing lines run as typed, reach its store and need no CRM secret."""
    walk = Walk.fresh(tmp_path)
    printed = walk.demo()
    assert printed[0].startswith('export PATH="$PWD/.venv/bin:$PATH"')
    assert [f"partnerplan {c}" for c in NEXT_COMMANDS] == printed[1:]
    readme = (ROOT / "README.md").read_text()
    assert [] == [line for line in printed if line not in readme]  # the README shows them too
    got, expected = {}, {}
    for line in printed:
        step = walk.shell(line)
        command = line.removeprefix("partnerplan ")
        if command in EXPECTED_AFTER_DEMO:
            code, text = EXPECTED_AFTER_DEMO[command]
            expected[command] = (code, True)
            got[command] = (step.code, text in step.out)
    assert expected == got, walk.report() + "\n" + "\n".join(s.err for s in walk.steps)
    assert not (tmp_path / "partnerplan.db").exists()  # no empty store left behind
    print(walk.report())


def test_a_store_without_tables_says_to_run_db_upgrade(tmp_path):
    """A read-only command on an empty store exits 2 naming `partnerplan db upgrade`."""
    walk = Walk.fresh(tmp_path)
    walk.shell(f'export PATH="{BIN}:$PATH"')
    (tmp_path / "empty.db").write_bytes(b"")
    missing = walk.shell("partnerplan runs")
    empty = walk.shell("partnerplan runs --database-url sqlite:///empty.db")
    assert (2, 2) == (missing.code, empty.code)
    assert "run `partnerplan db upgrade" in missing.err and "has no tables" in empty.err
    assert "Traceback" not in missing.err + empty.err
    assert not (tmp_path / "partnerplan.db").exists()


def test_init_sandbox_validate_run_status_as_the_readme_says(tmp_path):
    """`init`, the sandbox's `export` lines, `validate`, `run` and `status` each work."""
    walk = Walk.fresh(tmp_path)
    walk.shell(f'export PATH="{BIN}:$PATH"')
    init = walk.shell("partnerplan init myconfig")
    with walk.sandbox() as served:
        validate = walk.shell("partnerplan validate --config myconfig")
        run = walk.shell("partnerplan run --config myconfig")
        status = walk.shell("partnerplan status --config myconfig")
    exported = [line.split("=")[0].removeprefix("export ") for line in served.out.splitlines()]
    assert list(CRM_VARIABLES) == exported
    assert [
        (0, "Wrote"),
        (0, "configuration is valid"),
        (0, "Run summary"),
        (0, "plan progress"),
    ] == [
        (step.code, text if text in step.out else step.out[-400:] + step.err[-2000:])
        for step, text in [
            (init, "Wrote"),
            (validate, "configuration is valid"),
            (run, "Run summary"),
            (status, "plan progress"),
        ]
    ]
    print(walk.report())
