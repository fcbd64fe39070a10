"""Logging: one JSON-or-console pipeline on stderr for every record, secrets never shown."""

from __future__ import annotations

import json
import logging

from partnerplan.logs import (
    MAX_TRACEBACK_CHARS,
    bind_run,
    configure,
    get_logger,
    redact,
    register_secret,
)


def _json_lines(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_secret_keys_are_masked_in_json_logs(capsys):
    """Any event key that names a credential is masked whatever its value."""
    configure("info", json=True)
    get_logger("t").info("login", client_secret="abc123", access_token="tok-1", user="ops")
    line = _json_lines(capsys.readouterr().err)[-1]
    assert (line["client_secret"], line["access_token"], line["user"]) == ("***", "***", "ops")


def test_registered_secret_values_are_masked_anywhere(capsys):
    """A registered secret inside a URL, an exception or a nested value is masked."""
    register_secret("00Dxx0000001gEH!AQ4AQFake")
    configure("info", json=False)
    log = get_logger("t")
    try:
        raise RuntimeError("bad session 00Dxx0000001gEH!AQ4AQFake for org")
    except RuntimeError:
        log.exception("failed", url="https://x/?sid=00Dxx0000001gEH!AQ4AQFake", n=[1])
    err = capsys.readouterr().err
    assert "00Dxx0000001gEH!AQ4AQFake" not in err
    assert "sid=***" in err


def test_redact_masks_longest_secret_first():
    """Overlapping secrets are masked whole, never leaving a recognisable tail."""
    register_secret("token-abc")
    register_secret("token-abcdef")
    assert redact("x token-abcdef y token-abc") == "x *** y ***"


def test_a_logger_created_before_configure_follows_the_later_configuration(capsys):
    """A module-level logger made before `configure` writes JSON to stderr, nothing to stdout."""
    early = get_logger("early.module")
    configure("info", json=True)
    early.info("hello", n=1)
    out, err = capsys.readouterr()
    assert ("", "hello", "early.module") == (
        out,
        _json_lines(err)[-1]["event"],
        _json_lines(err)[-1]["logger"],
    )


def test_tracebacks_show_no_local_variables_and_are_bounded(capsys):
    """A logged exception names its frames but never a local's value, and stays short."""
    configure("info", json=True)
    huge = "x" * 1_000_000

    def fail(client_secret_local: str) -> None:
        raise ValueError(f"bad record {huge}")

    try:
        fail("the-local-" + "secret-value")  # the source line never holds the value
    except ValueError:
        get_logger("t").exception("record failed")
    line = _json_lines(capsys.readouterr().err)[-1]
    assert "the-local-secret-value" not in json.dumps(line)
    assert "in fail" in line["exception"]
    assert len(line["exception"]) <= MAX_TRACEBACK_CHARS + 100


def test_standard_library_records_go_through_the_same_pipeline(capsys):
    """A stdlib record (Dramatiq's, urllib3's) is a JSON line with level, logger and run id."""
    configure("info", json=True)
    register_secret("stdlib-secret-value")
    with bind_run(42, "sync_stream", "sf_leads"):
        logging.getLogger("dramatiq.worker").warning("worker %s saw stdlib-secret-value", 3)
    line = _json_lines(capsys.readouterr().err)[-1]
    assert {
        "event": "worker 3 saw ***",
        "level": "warning",
        "logger": "dramatiq.worker",
        "run_id": 42,
        "stage": "sync_stream",
        "stream": "sf_leads",
    } == {k: line[k] for k in ("event", "level", "logger", "run_id", "stage", "stream")}


def test_bound_run_context_ends_with_its_block(capsys):
    """Events inside `bind_run` carry the run; events after it do not."""
    configure("info", json=True)
    log = get_logger("t")
    with bind_run(7, "compute_progress"):
        log.info("inside")
    log.info("outside")
    inside, outside = _json_lines(capsys.readouterr().err)[-2:]
    assert (7, None) == (inside.get("run_id"), outside.get("run_id"))
