"""`partnerplan sandbox serve`: prints how to connect, serves till interrupted; refuses bad input.

Without the optional ``sandbox`` extra (trustme), the rest of the CLI still works and the
``sandbox`` commands say how to install it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading

import pytest
import typer
import urllib3
import yaml

from sandbox.server import render_text, serve
from worker.cli import app, run

START = "from worker.cli import main; main()"
INSTALL_HINT = "pip install 'partnerplan[sandbox]'"


def _cli_hiding(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``partnerplan *args`` in a fresh interpreter where ``import module`` fails."""
    hide = f"import sys; sys.modules[{module!r}] = None; sys.argv[0] = 'partnerplan'; "
    return subprocess.run(
        [sys.executable, "-c", hide + START, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "COLUMNS": "200"},  # Rich help would otherwise wrap the hint
    )


def test_serve_prints_json_serves_and_stops_on_interrupt():
    """--format json prints URLs, credentials and the CA path; the servers answer until SIGINT."""
    command = [sys.executable, "-c", START, "sandbox", "serve", "--scale", "1", "--format", "json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.rstrip() == "}":
                break
        sheet = json.loads("".join(lines))
        answer = urllib3.request(
            "GET",
            sheet["hubspot"]["url"] + "/crm/v3/objects/companies?limit=1",
            headers={"Authorization": f"Bearer {sheet['hubspot']['token']}"},
        )
        assert (200, 1, 500) == (answer.status, sheet["scale"], sheet["activities"])
        assert sheet["salesforce"]["url"].startswith("https://127.0.0.1:")
        assert sheet["salesforce"]["ca_bundle"].endswith(".pem")
    finally:
        process.send_signal(signal.SIGINT)
        assert 0 == process.wait(timeout=30)


def test_serve_reports_the_sheet_in_process():
    """serve() hands the connection sheet to ready() and returns once stop is set."""
    stop, sheets = threading.Event(), []

    def ready(sheet: dict) -> None:
        sheets.append(sheet)
        stop.set()

    serve(seed=2, scale=1, ready=ready, stop=stop)
    text = render_text(sheets[0])
    assert (300, 200) == (sheets[0]["salesforce"]["activities"], sheets[0]["hubspot"]["activities"])
    assert sheets[0]["salesforce"]["url"] in text and sheets[0]["hubspot"]["token"] in text


def test_bad_data_file_and_faults_exit_2(tmp_path, capsys):
    """A missing --data file or a malformed --faults value is bad input (exit 2) with a message."""
    missing = run(["sandbox", "serve", "--data", str(tmp_path / "nope.json")])
    bad_faults = run(["sandbox", "serve", "--faults", '{"salesforce": {"bogus": 1}}'])
    errors = capsys.readouterr().err
    assert (2, 2) == (missing, bad_faults)
    assert "nope.json" in errors and "bogus" in errors


def test_without_the_extra_the_help_lists_every_command_and_how_to_install_it():
    """Without trustme, `partnerplan --help` exits 0, lists every command, and names the extra."""
    result = _cli_hiding("trustme", "--help")
    commands = result.stdout.split("Commands:", 1)[1]
    listed = re.findall(r"^  ([a-z][\w-]*) ", commands, flags=re.MULTILINE)
    (sandbox_row,) = [line for line in commands.splitlines() if line.startswith("  sandbox ")]
    assert (0, list(typer.main.get_command(app).commands)) == (result.returncode, listed)
    assert INSTALL_HINT in sandbox_row


@pytest.mark.parametrize(
    "args",
    [["serve"], ["serve", "--help"], ["serve", "--scale", "1", "--no-such-option"]],
    ids=["serve", "help", "any-options"],
)
def test_without_the_extra_sandbox_serve_exits_2_naming_the_extra(args):
    """Without trustme, `sandbox serve` with any arguments prints the extra to install; exit 2."""
    result = _cli_hiding("trustme", "sandbox", *args)
    assert (2, "") == (result.returncode, result.stdout)
    assert f"error: the sandbox needs the optional dependencies: {INSTALL_HINT}" in result.stderr
    assert "missing module: trustme" in result.stderr


def test_an_import_error_of_our_own_is_not_taken_for_the_missing_extra():
    """A first-party module failing to import is a bug: a traceback and exit 1, not the hint."""
    result = _cli_hiding("sandbox.server", "sandbox", "serve", "--scale", "1")
    assert 1 == result.returncode
    assert "ModuleNotFoundError" in result.stderr and INSTALL_HINT not in result.stderr


def test_env_format_exports_exactly_the_variables_the_starter_settings_read():
    """`serve --format env` names each `${VAR}` of `partnerplan init`'s settings.yaml but the
    store and queue URLs, and quotes values for a shell."""
    from pathlib import Path

    from worker.cli.sandbox import render_env

    starter = Path(__file__).resolve().parents[2] / "worker" / "starter" / "settings.yaml"
    values = json.dumps(yaml.safe_load(starter.read_text()))  # the values, not the comments
    read = set(re.findall(r"\$\{([A-Z_]+)", values)) - {"DATABASE_URL", "REDIS_URL"}
    sheet = {
        "salesforce": {
            "url": "https://127.0.0.1:1",
            "client_id": "id",
            "client_secret": "s e c",
            "ca_bundle": "ca.pem",
        },
        "hubspot": {"url": "http://127.0.0.1:2", "token": "pat"},
    }
    lines = render_env(sheet).splitlines()
    exported = {line.removeprefix("export ").split("=")[0] for line in lines}
    assert (read, True) == (exported, "export SF_CLIENT_SECRET='s e c'" in lines)
