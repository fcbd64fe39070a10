"""Config files: every problem reported at FILE:LINE with a fix; secrets only from env."""

from __future__ import annotations

from pathlib import Path

import pytest

from partnerplan.config import (
    Secret,
    StrictModel,
    load,
    parse,
    secrets_file_values,
    unset_variables_blank,
    validate,
)
from partnerplan.errors import ConfigProblems, ConfigurationError
from worker.cli import run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SECRET_VALUE = "s3cr3t-value-that-must-not-leak"


class Inner(StrictModel):
    token: Secret
    retries: int = 3


class Outer(StrictModel):
    name: str
    inner: Inner


def _write(tmp_path: Path, text: str, name: str = "f.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_bad_config_reports_each_problem_at_its_line(capsys, monkeypatch):
    """`partnerplan validate` prints FILE:LINE: message per problem, exits 2, no traceback."""
    monkeypatch.setenv("PP_TEST_SF_CLIENT_ID", SECRET_VALUE)
    code = run(["validate", "--config", str(FIXTURES / "bad-config")])
    out, err = capsys.readouterr()
    path = str(FIXTURES / "bad-config" / "settings.yaml")
    assert code == 2
    assert err.splitlines() == [
        f"{path}:4: reporting_curency: unknown key 'reporting_curency'; "
        "did you mean 'reporting_currency'?",
        f"{path}:12: sources.salesforce.auth.client_secret: environment variable "
        "PP_TEST_SF_CLIENT_SECRET is not set; export it, add it to the secrets file "
        "(PARTNERPLAN_SECRETS_FILE), or write ${PP_TEST_SF_CLIENT_SECRET:-default}",
        f"{path}:13: sources.salesforce.budget_share: Input should be a valid number, "
        "unable to parse string as a number",
    ]
    assert "Traceback" not in out + err
    assert SECRET_VALUE not in out + err


def test_secret_written_literally_in_yaml_is_refused_without_echoing_it(tmp_path):
    """A credential committed in YAML is an error, and the error does not repeat the value."""
    path = _write(tmp_path, f"name: x\ninner:\n  token: {SECRET_VALUE}\n")
    with pytest.raises(ConfigProblems) as caught:
        load(path, Outer)
    message = str(caught.value)
    assert f"{path}:3: inner.token: secrets may not be written in YAML" in message
    assert SECRET_VALUE not in message


def test_secret_from_env_is_accepted_and_hidden_in_repr(tmp_path, monkeypatch):
    """A `${VAR}` secret loads; printing the model never shows its value."""
    monkeypatch.setenv("PP_TOKEN", SECRET_VALUE)
    path = _write(tmp_path, "name: x\ninner:\n  token: ${PP_TOKEN}\n")
    model = load(path, Outer, expand=True)
    assert model.inner.token.get_secret_value() == SECRET_VALUE
    assert SECRET_VALUE not in repr(model) + str(model)


def test_secrets_file_supplies_variables(tmp_path, monkeypatch):
    """KEY=VALUE lines in PARTNERPLAN_SECRETS_FILE resolve `${KEY}` like the environment."""
    secrets = _write(tmp_path, f"# comment\nexport PP_TOKEN='{SECRET_VALUE}'\n", "secrets.env")
    secrets.chmod(0o600)
    monkeypatch.setenv("PARTNERPLAN_SECRETS_FILE", str(secrets))
    model = load(_write(tmp_path, "name: x\ninner:\n  token: ${PP_TOKEN}\n"), Outer, expand=True)
    assert model.inner.token.get_secret_value() == SECRET_VALUE


def test_secrets_file_is_parsed_as_a_dotenv_file(tmp_path):
    """Inline comments, quotes, escapes and `export` are read as a .env file means them."""
    text = (
        "A=plain # an inline comment\n"
        "export B='single # kept'\n"
        'C="double\\nline"\n'
        "D=\n"
        "# E=commented out\n"
    )
    path = _write(tmp_path, text, "secrets.env")
    path.chmod(0o600)
    assert {"A": "plain", "B": "single # kept", "C": "double\nline", "D": ""} == (
        secrets_file_values(path)
    )


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_secrets_file_others_can_read_is_refused_with_the_chmod(tmp_path, mode):
    """A secrets file readable by its group or others is refused, naming `chmod 600 FILE`."""
    path = _write(tmp_path, "PP_TOKEN=x\n", "secrets.env")
    path.chmod(mode)
    with pytest.raises(ConfigurationError) as caught:
        secrets_file_values(path)
    assert f"run `chmod 600 {path}`" in str(caught.value)


def test_unset_variables_read_blank_only_inside_the_block(tmp_path):
    """Read-only commands read an unset `${VAR}` as blank; everywhere else it is a problem."""
    path = _write(tmp_path, "name: ${PP_UNSET}\ninner: {token: ''}\n")
    with unset_variables_blank():
        assert "" == load(path, Outer, expand=True).name
    with pytest.raises(ConfigProblems):
        load(path, Outer, expand=True)


def test_env_default_and_escape(tmp_path):
    """`${VAR:-default}` falls back; `$${` is a literal `${`."""
    path = _write(tmp_path, "name: ${PP_MISSING:-fallback} $${NOT_A_VAR}\ninner: {token: ''}\n")
    assert load(path, Outer, expand=True).name == "fallback ${NOT_A_VAR}"


def test_a_default_never_becomes_a_secret(tmp_path):
    """`${UNSET:-literal}` would smuggle a literal secret past the rule: it is refused."""
    path = _write(tmp_path, f"name: x\ninner:\n  token: ${{PP_UNSET:-{SECRET_VALUE}}}\n")
    with pytest.raises(ConfigProblems) as caught:
        load(path, Outer, expand=True)
    assert "secrets may not be written in YAML" in str(caught.value)
    assert SECRET_VALUE not in str(caught.value)


def test_only_settings_expand_variables(tmp_path, monkeypatch):
    """Outside settings.yaml a `${VAR}` is text: a plan key never becomes the token it names."""
    monkeypatch.setenv("PP_TOKEN", SECRET_VALUE)
    path = _write(tmp_path, "name: Q4-${PP_TOKEN}\ninner: {token: ''}\n")
    assert load(path, Outer).name == "Q4-${PP_TOKEN}"


def test_an_alias_bomb_is_refused_at_its_line(tmp_path):
    """A 381-byte chain of aliases that would expand to billions of values is an error, fast."""
    lines = ["name: x", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    doc = parse(path)
    assert doc.data is None
    (problem,) = doc.problems
    assert "expands to more than 200,000 values" in problem.message
    assert problem.line > 1


def test_bytes_that_are_not_utf8_are_reported_at_their_line(tmp_path):
    """A file saved in Latin-1 is reported at the line and column of the first bad byte."""
    path = tmp_path / "latin.yaml"
    path.write_bytes("name: x\ninner:\n  token: caf\u00e9\n".encode("latin-1"))
    (problem,) = parse(path).problems
    assert (problem.line, problem.message) == (
        3,
        "not UTF-8 text (byte 0xE9 at column 13); save the file as UTF-8",
    )


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("name: x\nname: y\ninner: {token: ''}\n", 2, "duplicate key (first defined on line 1)"),
        ("name: x\ninner:\n\ttoken: y\n", 3, "tab used for indentation; YAML needs spaces"),
        ("name: [x\ninner: 1\n", 2, "YAML syntax error"),
        ("", 1, "file is empty"),
        ("# only a comment\n", 1, "file is empty"),
        ("name: x\n", 1, "required key 'inner' is missing; add it"),
        ("name: x\ninner:\n  token: ''\n  retries: many\n", 4, "valid integer"),
    ],
)
def test_yaml_problems_are_located(tmp_path, text, line, fragment):
    """Each kind of YAML mistake is reported at the line to fix, with a hint."""
    path = _write(tmp_path, text)
    doc = parse(path)
    validate(doc, Outer)
    rendered = [p.render() for p in doc.problems]
    assert any(r.startswith(f"{path}:{line}:") and fragment in r for r in rendered), rendered


def test_oversized_file_is_refused_before_parsing(tmp_path):
    """A 5 MB config is refused with a message to split it, not parsed into memory."""
    path = _write(tmp_path, "name: x\n" + "# padding\n" * 520_000)
    doc = parse(path)
    assert [p.message for p in doc.problems] == [
        "file is 5.0 MiB; config files are limited to 1 MiB: split it into several files"
    ]
