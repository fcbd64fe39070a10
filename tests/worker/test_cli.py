"""The CLI: starter config, schema migrations, exit codes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from plans import migrate
from plans.db import make_engine
from worker.cli import run


def test_init_writes_a_starter_config_that_validates_once_env_is_set(tmp_path, monkeypatch, capsys):
    """`init DIR` writes a config a new user only has to fill with env vars to pass validate."""
    target = tmp_path / "cfg"
    assert run(["init", str(target)]) == 0
    assert (target / "settings.yaml").exists()
    assert run(["validate", "--config", str(target)]) == 2
    for name in ("SF_INSTANCE_URL", "SF_CLIENT_ID", "SF_CLIENT_SECRET", "HUBSPOT_TOKEN"):
        monkeypatch.setenv(name, "value-" + name)
    capsys.readouterr()
    assert run(["validate", "--config", str(target)]) == 0
    assert "configuration is valid" in capsys.readouterr().out


def test_init_refuses_to_overwrite(tmp_path, capsys):
    """`init` into an existing config exits 2 and says how to proceed."""
    assert run(["init", str(tmp_path)]) == 0
    assert run(["init", str(tmp_path)]) == 2
    assert "pass --force" in capsys.readouterr().err


def test_missing_config_dir_is_bad_input(tmp_path, capsys):
    """Pointing at a directory that does not exist is exit 2 with the fix, not a traceback."""
    assert run(["validate", "--config", str(tmp_path / "nope")]) == 2
    assert "partnerplan init" in capsys.readouterr().err


def test_db_upgrade_creates_every_table_on_sqlite(tmp_path):
    """`db upgrade` on an empty SQLite file creates the whole schema at the head revision."""
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert run(["db", "upgrade", "--database-url", url, "--config", str(tmp_path)]) == 0
    engine = make_engine(url)
    assert {"activity", "partner", "plan", "progress", "watermark", "quarantine"} <= set(
        inspect(engine).get_table_names()
    )
    assert migrate.current(engine) is not None


def test_migrations_match_the_models(tmp_path, pg_schema):
    """Alembic's head schema equals the SQLModel tables on SQLite and PostgreSQL."""
    from tests.conftest import PG_ADMIN_URL

    for engine in (
        make_engine(f"sqlite:///{tmp_path / 'm.db'}"),
        make_engine(PG_ADMIN_URL, schema=pg_schema),
    ):
        migrate.upgrade(engine)
        assert migrate.pending_changes(engine) == []
        migrate.upgrade(engine)  # idempotent: a second upgrade is a no-op
        engine.dispose()


def test_console_script_runs_and_prints_help():
    """The installed `partnerplan` entry point starts and lists its commands."""
    exe = Path(sys.executable).with_name("partnerplan")
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "validate" in result.stdout


def test_validate_rejects_a_mapped_kind_no_metric_counts(tmp_path, monkeypatch, capsys):
    """A stream producing a kind that no metric uses is reported at its line, exit 2."""
    import shutil

    config = tmp_path / "config"
    shutil.copytree(Path(__file__).resolve().parents[2] / "config", config)
    path = config / "mappings" / "salesforce.yaml"
    text = (
        path.read_text()
        .replace(
            "streams:\n",
            "kinds:\n  webinar_attendance: {statuses: [planned, completed, cancelled]}\nstreams:\n",
            1,
        )
        .replace("    kind: marketing\n", "    kind: webinar_attendance\n", 1)
    )
    path.write_text(text)
    line = text.splitlines().index("    kind: webinar_attendance") + 1
    for name in ("SF_CLIENT_ID", "SF_CLIENT_SECRET", "HUBSPOT_TOKEN"):
        monkeypatch.setenv(name, "x")
    assert run(["validate", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert (
        f"{path}:{line}: sf_marketing.kind: kind 'webinar_attendance' is used by no metric" in err
    )


def test_starter_config_is_the_shipped_example(tmp_path):
    """`init` writes mappings, metrics, rates, write-back and a plan, as the shipped example."""
    repo = Path(__file__).resolve().parents[2]
    assert run(["init", str(tmp_path / "cfg")]) == 0
    pairs = [
        ("mappings/salesforce.yaml", "mappings/salesforce.yaml"),
        ("mappings/hubspot.yaml", "mappings/hubspot.yaml"),
        ("metrics.yaml", "metrics.yaml"),
        ("rates.yaml", "rates.yaml"),
        ("writeback.yaml", "writeback.yaml"),
        ("plans/example-plan.yaml", "plans/p-00001.yaml"),
    ]
    stale = [
        written
        for written, shipped in pairs
        if (tmp_path / "cfg" / written).read_text() != (repo / "config" / shipped).read_text()
    ]
    assert stale == [], "run `make starter` to refresh worker/starter/"


def test_the_store_and_its_lock_files_are_private_to_their_user(tmp_path):
    """A SQLite store partnerplan creates is 0600, its lock folder 0700 and lock files 0600."""
    import stat

    from worker import locks

    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert run(["db", "upgrade", "--database-url", url, "--config", str(tmp_path)]) == 0
    with locks.exclusive(make_engine(url), "stream:s:x") as taken:
        assert taken
    folder = tmp_path / "p.db.locks"
    modes = {
        path.name if path.parent == tmp_path else "lock file": stat.S_IMODE(path.stat().st_mode)
        for path in [tmp_path / "p.db", folder, *folder.iterdir()]
    }
    assert {"p.db": 0o600, "p.db.locks": 0o700, "lock file": 0o600} == modes


def test_version_and_readable_metavars(capsys):
    """`--version` prints the version; help names values (KEY, URL), never `<list[str]>`."""
    from partnerplan import __version__

    assert run(["--version"]) == 0
    version = capsys.readouterr().out
    assert run(["status", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert f"partnerplan {__version__}\n" == version
    assert "--plan KEY" in help_text and "--database-url URL" in help_text
    assert "<" not in help_text


def test_an_interrupted_command_exits_130_without_a_traceback(tmp_path, monkeypatch, capsys):
    """Ctrl-C while a command runs is exit 130 and one line, never a traceback."""
    from worker import project

    def interrupted(_root):
        raise KeyboardInterrupt

    monkeypatch.setattr(project, "load_project", interrupted)
    assert run(["validate", "--config", str(tmp_path)]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_validate_warns_of_a_plan_for_a_partner_the_store_never_saw(tmp_path, capsys):
    """With a store, a plan whose partner no sync brought in is a warning at its line."""
    from sqlmodel import Session

    from plans.db import create_all
    from plans.store import PartnerRow

    config = tmp_path / "config"
    shutil.copytree(Path(__file__).resolve().parents[2] / "config", config)
    db = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{db}")
    create_all(engine)
    with Session(engine) as session:
        session.add(PartnerRow(key="P-00001", name="One"))
        session.commit()
    engine.dispose()
    env = {"DATABASE_URL": f"sqlite:///{db}", "SF_CLIENT_ID": "x1234", "SF_CLIENT_SECRET": "y1234"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**env, "HUBSPOT_TOKEN": "z1234"}.items():
            patch.setenv(name, value)
        assert run(["validate", "--config", str(config)]) == 0
    err = capsys.readouterr().err
    assert "warning: partner 'P-00002' of plan" in err
    assert "partner 'P-00001'" not in err
