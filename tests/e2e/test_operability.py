"""Operating a sync: logs a collector reads, metrics that move, checks that page, fast failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import REPO, Flow
from worker import metrics
from worker.cli import run as cli
from worker.health import MetricsServer, registry_for, store_check
from worker.project import load_project

pytestmark = pytest.mark.slow


def _partnerplan(flow: Flow, *args: str, env: dict[str, str] | None = None):
    """``partnerplan ARGS`` in a fresh process, stderr a pipe (as under cron or a container)."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "worker.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )


def _events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def test_stderr_under_a_pipe_is_json_lines_only_and_every_run_event_has_its_run_id(make_flow):
    """A run logs JSON lines only (no progress bars); each event of a run carries its id."""
    flow = make_flow()
    done = _partnerplan(
        flow,
        "--log-level",
        "debug",
        "run",
        "--config",
        str(flow.config),
        "--database-url",
        flow.database_url,
    )
    assert 0 == done.returncode, done.stdout + done.stderr
    events = _events(done.stderr)  # raises on any line that is not JSON
    outside = [
        (e.get("logger"), e["event"])
        for e in events
        if "run_id" not in e
        and e.get("stage") != "preflight"
        and not str(e.get("logger")).startswith("alembic")
    ]
    streams = {e["stream"] for e in events if "run_id" in e and "stream" in e}
    assert ([], True) == (outside, "sf_opportunities" in streams or not streams)
    assert "Run summary" in done.stdout


def test_a_failing_token_url_never_shows_the_client_secret(make_flow):
    """A bad token_url fails the run; stdout, stderr and tracebacks never hold the secret."""
    flow = make_flow()
    secret = os.environ["SF_CLIENT_SECRET"]
    path = flow.config / "settings.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["sources"]["salesforce"]["auth"]["token_url"] = (
        os.environ["SF_INSTANCE_URL"] + "/no/such/token/endpoint"
    )
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    done = _partnerplan(
        flow,
        "--log-level",
        "debug",
        "run",
        "--no-preflight",
        "--config",
        str(flow.config),
        "--database-url",
        flow.database_url,
    )
    assert 1 == done.returncode
    assert "Salesforce rejected" in done.stdout + done.stderr
    assert secret not in done.stdout + done.stderr
    assert all(
        "run_id" in e or e.get("logger", "").startswith("alembic") for e in _events(done.stderr)
    )


def _scrape(port: int, path: str = "/metrics") -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _value(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name}{{{wanted}}} in the scrape")


def test_metrics_endpoint_counters_move_after_a_run(make_flow, monkeypatch):
    """/metrics shows records, API calls, runs and freshness; a run moves them; /healthz is ok."""
    monkeypatch.setattr(metrics, "CACHE_SECONDS", 0.0)
    flow = make_flow()
    project = load_project(flow.config)
    engine = flow.engine()
    from plans import migrate

    migrate.upgrade(engine)
    server = MetricsServer(registry_for(engine, project), [store_check(engine)], "127.0.0.1", 0)
    server.start()
    try:
        before = _scrape(server.port)[1]
        assert flow.run() == 0
        status, after = _scrape(server.port)
        health = _scrape(server.port, "/healthz")
    finally:
        server.stop()
    pulled = (
        "partnerplan_records_pulled_total",
        {"source": "salesforce", "stream": "sf_opportunities"},
    )
    calls = ("partnerplan_api_calls_total", {"source": "hubspot", "crm": "hubspot"})
    runs = ("partnerplan_runs_total", {"stage": "sync_stream", "outcome": "succeeded"})
    age = ("partnerplan_stream_sync_age_seconds", {"stream": "hs_deals"})
    assert (0.0, 0.0, float("inf")) == (
        _value(before, pulled[0], **pulled[1]),
        _value(before, calls[0], **calls[1]),
        _value(before, age[0], **age[1]),
    )
    assert 200 == status and (200, "ok\n") == health
    assert _value(after, pulled[0], **pulled[1]) > 0
    assert _value(after, calls[0], **calls[1]) > 0
    assert _value(after, runs[0], **runs[1]) == len(project.mappings.streams)
    assert _value(after, age[0], **age[1]) < 600
    assert (
        _value(after, "partnerplan_pushed_rows_total", destination="salesforce", result="landed")
        > 0
    )


def test_status_check_exits_0_fresh_1_stale_or_failed_2_broken(make_flow, monkeypatch, capsys):
    """`status --check`: 0 after a good run, 1 when a stream failed, 2 with a broken config."""
    flow = make_flow()
    base = ["status", "--check", "--config", str(flow.config), "--database-url", flow.database_url]
    assert flow.run() == 0
    fresh = cli(base)
    monkeypatch.setenv("HUBSPOT_TOKEN", "pat-revoked-token-0000")
    assert flow.run("--no-preflight", "--stream", "hs_deals") == 1
    capsys.readouterr()
    failed = cli(base)
    out = capsys.readouterr().out
    (flow.config / "settings.yaml").write_text("version: 1\nsources: {x: {type: nope}}\n")
    broken = cli(base)
    assert (0, 1, 2) == (fresh, failed, broken)
    assert "failed: hubspot/hs_deals" in out


def test_an_unreachable_crm_fails_its_preflight_in_seconds(make_flow, monkeypatch, capsys):
    """A source whose host does not resolve fails before any page: named, exit 1, quick."""
    flow = make_flow()
    monkeypatch.setenv("HUBSPOT_BASE_URL", "https://no-such-host.invalid")
    started = time.monotonic()
    code = flow.run()
    elapsed = time.monotonic() - started
    out = capsys.readouterr().out
    syncs = {r.source for r in flow.runs() if r.stage == "sync_stream"}
    assert 1 == code
    assert "source 'hubspot' failed its preflight (dns): cannot resolve no-such-host.invalid" in out
    assert {"salesforce"} == syncs  # the healthy source synced all the same
    print(f"preflight failure reported after {elapsed:.1f} s")  # measured, not asserted


def _scheduler_once(flow: Flow, schedules: list[dict[str, str]], **settings: str) -> int:
    """Write ``schedules`` (and other top-level ``settings``) to the flow's settings.yaml, then
    run ``scheduler --once`` in-process; returns its exit code."""
    path = flow.config / "settings.yaml"
    loaded = yaml.safe_load(path.read_text())
    loaded.update(settings, schedules=schedules)
    path.write_text(yaml.safe_dump(loaded, sort_keys=False))
    args = ["scheduler", "--once", "--config", str(flow.config)]
    return cli([*args, "--database-url", flow.database_url])


def test_scheduler_once_reports_what_it_did(make_flow, capsys):
    """`scheduler --once` prints each slot it ran with its runs' outcomes."""
    flow = make_flow()
    assert flow.run() == 0  # the streams complete: the recompute may trust them
    schedules = [{"cron": "* * * * *", "action": "recompute"}]
    assert _scheduler_once(flow, schedules, timezone="Europe/Paris") == 0
    out = capsys.readouterr().out
    # the compute; no push follows, since nothing changed since the run
    assert "'* * * * *' (recompute): 1 run(s): 1 succeeded" in out
    assert "CET" in out or "CEST" in out  # slot times in the configured zone


def test_scheduler_once_says_when_nothing_was_due(make_flow, capsys):
    """With no slot in the last minute, `--once` says so and names the next slot."""
    flow = make_flow()
    assert _scheduler_once(flow, [{"cron": "0 3 29 2 *"}]) == 0  # 03:00 on 29 February only
    out = capsys.readouterr().out
    assert "nothing was due between" in out and "the next slot is" in out


def test_worker_command_passes_log_level_and_metrics_to_dramatiq(make_flow, monkeypatch):
    """`worker` replaces itself with Dramatiq's supervisor: log level, --skip-logging, metrics."""
    from worker.cli import flow as flow_cli

    flow = make_flow()
    seen: dict = {}
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(
        flow_cli.os, "execvpe", lambda exe, args, env: seen.update(args=args, env=env)
    )
    monkeypatch.setattr(flow_cli, "metrics_dir", lambda: str(Path("/nowhere")))
    assert (
        cli(
            [
                "--log-level",
                "info",
                "worker",
                "--config",
                str(flow.config),
                "--metrics-port",
                "9999",
            ]
        )
        == 0
    )
    env = seen["env"]
    assert ("info", "9999", "/nowhere", "/nowhere") == (
        env["PARTNERPLAN_LOG_LEVEL"],
        env["PARTNERPLAN_METRICS_PORT"],
        env["PROMETHEUS_MULTIPROC_DIR"],
        env["dramatiq_prom_db"],
    )
    assert ["-m", "worker.supervisor", "worker.entry"] == seen["args"][1:4]
    assert "--skip-logging" in seen["args"]


def test_an_untrusted_certificate_fails_the_tls_step_of_the_preflight(make_flow, monkeypatch):
    """Without the sandbox's CA bundle, Salesforce's preflight stops at TLS and says the fix."""
    from worker.preflight import check_source

    flow = make_flow()
    monkeypatch.setenv("SF_CA_BUNDLE", "")
    project = load_project(flow.config)
    check = check_source(project, "salesforce", project.settings.sources["salesforce"])
    assert ("tls", True) == (check.failed_step, "set ca_bundle" in (check.error or ""))


def test_nothing_listening_on_a_plain_http_url_fails_the_connect_step(make_flow, monkeypatch):
    """A refused connection to an http:// API (a proxy, the sandbox) is `connect`, not `auth`."""
    from worker.preflight import check_source

    flow = make_flow()
    monkeypatch.setenv("HUBSPOT_BASE_URL", "http://127.0.0.1:1")
    project = load_project(flow.config)
    check = check_source(project, "hubspot", project.settings.sources["hubspot"])
    assert ("connect", "127.0.0.1:1") == (check.failed_step, (check.error or "")[:11])


def test_a_rejected_write_makes_the_run_exit_1_and_says_why(make_flow, capsys):
    """A push the CRM partly rejects leaves the run incomplete: exit 1, the reason printed."""
    flow = make_flow()
    flow.sandbox.set_faults("salesforce", fail_every=3)
    code = flow.run()
    out = capsys.readouterr().out
    push = [r for r in flow.runs() if r.stage == "push_progress"]
    assert (1, ["incomplete"]) == (code, [r.outcome for r in push])
    assert "record(s) rejected; see `partnerplan push errors`" in out
