"""`partnerplan sandbox serve`: prints how to connect, serves till interrupted; refuses bad input"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading

import urllib3

from sandbox.server import render_text, serve
from worker.cli import run

START = "from worker.cli import main; main()"


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
