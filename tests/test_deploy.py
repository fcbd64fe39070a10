"""The deployment files run the commands the tests run, and the docs name what the code reads.

No container engine or systemd runs where partnerplan is tested, so the Dockerfile, the compose
file and the units are never started here. What can be checked is checked: every partnerplan
command they run parses against the real CLI (command, subcommand and options), the image
runs as a non-root user from the locked requirements, the compose file migrates once before
the workers and the scheduler start, and docs/environment.md names every variable the code
reads.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest
import typer
import yaml

from worker.cli import app

ROOT = Path(__file__).resolve().parents[1]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))


def _parse(args: list[str]) -> list[str]:
    """The command path ``args`` name; raises when a command or an option does not exist."""
    command = typer.main.get_command(app)
    ctx = command.make_context("partnerplan", list(args))
    path: list[str] = []

    def pending(ctx) -> list[str]:  # the group's unparsed rest: the subcommand and its args
        return [*getattr(ctx, "_protected_args", getattr(ctx, "protected_args", [])), *ctx.args]

    while isinstance(command, typer.core.TyperGroup) and pending(ctx):
        name, sub, rest = command.resolve_command(ctx, pending(ctx))
        assert sub is not None and name is not None
        path.append(name)
        command, ctx = sub, sub.make_context(name, rest, parent=ctx)
    return path


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _compose_commands() -> dict[str, list[str]]:
    services = _compose()["services"]
    return {name: s["command"] for name, s in services.items() if s.get("build") or "<<" in s}


def _unit_commands() -> dict[str, list[str]]:
    out = {}
    for unit in UNITS:
        for line in unit.read_text().splitlines():
            if line.startswith("ExecStart="):
                argv = shlex.split(line.removeprefix("ExecStart="))
                assert argv[0].endswith("/partnerplan"), line
                out[unit.name] = argv[1:]
    return out


def test_the_checker_refuses_an_unknown_command_or_option():
    """The parse check would catch a typo in a deployment file."""
    assert ["worker"] == _parse(["worker", "--processes", "2"])
    for bad in (["wroker"], ["worker", "--proceses", "2"], ["db", "upgrad"]):
        with pytest.raises(Exception):  # noqa: B017 - Click's usage errors vary
            _parse(bad)


def test_every_compose_command_is_a_real_partnerplan_command():
    """migrate, worker and scheduler run `db upgrade`, `worker` and `scheduler` as tested."""
    paths = {name: _parse(command) for name, command in _compose_commands().items()}
    assert {"migrate": ["db", "upgrade"], "worker": ["worker"], "scheduler": ["scheduler"]} == (
        paths
    )


def test_the_compose_file_migrates_once_before_workers_and_scheduler():
    """PostgreSQL and Redis with health checks; worker and scheduler wait for the migration."""
    services = _compose()["services"]
    waits = {
        name: services[name]["depends_on"]["migrate"]["condition"]
        for name in ("worker", "scheduler")
    }
    assert {"worker": "service_completed_successfully"} | {
        "scheduler": "service_completed_successfully"
    } == waits
    assert {"postgres", "redis", "migrate", "worker", "scheduler"} == set(services)
    assert "--appendonly" in services["redis"]["command"]


def test_every_systemd_unit_runs_a_real_partnerplan_command():
    """Each unit's ExecStart parses: migrate, worker, scheduler and the freshness check."""
    paths = {name: _parse(argv) for name, argv in _unit_commands().items()}
    assert {
        "partnerplan-check.service": ["status"],
        "partnerplan-migrate.service": ["db", "upgrade"],
        "partnerplan-scheduler.service": ["scheduler"],
        "partnerplan-worker.service": ["worker"],
    } == paths


def test_the_image_is_slim_non_root_and_built_from_the_lock():
    """A slim base, the locked requirements.txt, a non-root user, the CLI as entry point."""
    text = (ROOT / "Dockerfile").read_text()
    froms = re.findall(r"^FROM python:\$\{PYTHON\}-slim", text, flags=re.MULTILINE)
    users = re.findall(r"^USER (\S+)", text, flags=re.MULTILINE)
    assert (2, ["partnerplan"]) == (len(froms), users)
    assert "-r requirements.txt" in text and 'ENTRYPOINT ["partnerplan"]' in text


def _variables_read(root: Path) -> set[str]:
    """Every literal variable name the package code reads from the environment."""
    names: set[str] = set()
    packages = ("partnerplan", "connectors", "mappings", "plans", "writeback", "worker")
    for package in packages:
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call):
                    func = ast.unparse(node.func)
                    if func in ("os.environ.get", "os.getenv", "env.get") and node.args:
                        first = node.args[0]
                        if isinstance(first, ast.Constant) and isinstance(first.value, str):
                            names.add(first.value)
                    for keyword in node.keywords:
                        if keyword.arg == "envvar" and isinstance(keyword.value, ast.Constant):
                            names.add(str(keyword.value.value))
                if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
                    key = node.slice
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        names.add(key.value)
    return names


def test_the_environment_reference_names_every_variable_the_code_reads():
    """docs/environment.md lists each variable read by the code (and the demo's DEMO_SCALE)."""
    reference = (ROOT / "docs" / "environment.md").read_text()
    read = _variables_read(ROOT)
    assert {"DATABASE_URL", "REDIS_URL", "PARTNERPLAN_LOG_LEVEL"} <= read
    assert [] == sorted(name for name in read if f"`{name}`" not in reference)
