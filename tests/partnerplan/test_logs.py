"""Logging never shows a secret: masked by key name and by registered value."""

from __future__ import annotations

import json

from partnerplan.logs import configure, get_logger, redact, register_secret


def test_secret_keys_are_masked_in_json_logs(capsys):
    """Any event key that names a credential is masked whatever its value."""
    configure(json=True)
    get_logger("t").info("login", client_secret="abc123", access_token="tok-1", user="ops")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (line["client_secret"], line["access_token"], line["user"]) == ("***", "***", "ops")


def test_registered_secret_values_are_masked_anywhere(capsys):
    """A registered secret inside a URL, an exception or a nested value is masked."""
    register_secret("00Dxx0000001gEH!AQ4AQFake")
    configure(json=False)
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
