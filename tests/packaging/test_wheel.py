"""The wheel: every stage package and data file inside, nothing else, and it works installed.

The issue's must-show is "`pip install .` into a fresh virtualenv, then `partnerplan --help` and
`partnerplan sandbox serve --help` from another directory work". The stage packages sit at the
repository root, so a test run from the checkout imports them from the checkout whatever the
wheel holds; only a wheel installed where the checkout is out of reach shows a missing package
or data file. So, once per module:

* the source tree is copied (no ``.git``, ``.venv``, caches, ``build/`` or ``*.egg-info``: a
  stale ``build/lib`` would put moved modules back into the wheel, and building must not write
  into the checkout) and built with ``pip wheel``, in pip's isolated build environment
  as ``pip install .`` builds it (the project needs setuptools >= 77 for its SPDX ``license``;
  pip takes it from the configured indexes, which work offline here);
* a fresh virtualenv gets the wheel through ``pip --python`` (so its console script runs the
  new interpreter) and reaches the dependencies through a ``.pth`` line naming the dev
  virtualenv's site-packages: a plain path line, so the dev virtualenv's editable-install hook
  (which maps the package names onto the checkout) is never run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # ~20 s on 2 busy cores: a wheel build, a virtualenv, 5 processes

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "partnerplan",
    "connectors",
    "mappings",
    "plans",
    "report",
    "writeback",
    "worker",
    "sandbox",
)
NOT_SOURCE_AT_ROOT = {".git", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache", "demo"}
NOT_SOURCE_AT_ROOT |= {"build", "dist"}  # a stale build/lib would put moved modules back
NOT_SOURCE_ANYWHERE = ("__pycache__", "*.pyc", "*.egg-info", "*.db", "*.db-*")
NEEDED_AT_RUN_TIME = (
    "connectors/salesforce/__init__.py",
    "connectors/hubspot/__init__.py",
    "plans/metrics.yaml",
    "plans/migrations/env.py",
    "plans/migrations/script.py.mako",
    "report/templates/plan.html.j2",
    "report/templates/report.css",
    "worker/cli/__init__.py",
    "worker/starter/settings.yaml",
    "partnerplan/crm/salesforce/sfdx-project.json",
    "partnerplan/crm/salesforce/partnerplan-fields.yaml",
    *(f"{package}/py.typed" for package in PACKAGES),
)
"""Parts the tree comparison covers too, named so that a wrong comparison cannot hide them."""
IMPORT_EVERY_PACKAGE = """
import importlib, json, os, pkgutil, sys

def fail(name):
    raise ImportError(f"cannot import {name}")

tops = sys.argv[1:]
packages = list(tops)
for top in tops:
    path = importlib.import_module(top).__path__
    packages += [i.name for i in pkgutil.walk_packages(path, top + ".", fail) if i.ispkg]
files = [m.__file__ for n, m in sys.modules.items() if n.split(".")[0] in tops and m.__file__]
path = [os.path.realpath(p) for p in sys.path]  # '' is this process's cwd
finders = [repr(f) for f in sys.meta_path]
print(json.dumps({"packages": packages, "files": files, "path": path, "finders": finders}))
"""
"""Run in the fresh virtualenv: import every package of the wheel, report where each came from.

Packages only: a module such as ``worker.entry`` (the Dramatiq entry point) needs ``REDIS_URL``
at import; a missing module file is caught by the comparison of the wheel with the tree.
"""
PIP = (sys.executable, "-m", "pip")
HIDDEN_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH")


def _run(argv: Sequence[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in HIDDEN_ENV}
    return subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def _ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    if done.returncode != 0:
        pytest.fail(f"{done.args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def _not_source(folder: str, entries: list[str]) -> set[str]:
    """What a fresh clone would not hold: tool folders at the root; caches, stores anywhere."""
    ignored = set(shutil.ignore_patterns(*NOT_SOURCE_ANYWHERE)(folder, entries))
    if Path(folder) == ROOT:
        ignored |= NOT_SOURCE_AT_ROOT & set(entries)
    return ignored


def _shipped(folder: Path) -> set[str]:
    """Files under ``folder`` that belong in a package: no caches, no dotfiles."""
    return {
        path.relative_to(folder.parent).as_posix()
        for path in folder.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and not path.name.startswith(".")
        and path.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout as a fresh clone would have it."""
    copy = tmp_path_factory.mktemp("source") / "partnerplan"
    shutil.copytree(ROOT, copy, ignore=_not_source)
    return copy


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``pip install .`` would build and install."""
    out = tmp_path_factory.mktemp("wheel")
    _ok(_run([*PIP, "wheel", "--no-deps", "--quiet", "--wheel-dir", out, source], cwd=out))
    (built,) = out.glob("partnerplan-*.whl")
    return built


@pytest.fixture(scope="module")
def names(wheel: Path) -> set[str]:
    """Every file name in the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel installed; the dependencies come from the dev one."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=False, symlinks=True)
    python = home / "bin" / "python"
    where = _ok(_run([python, "-c", "import site; print(site.getsitepackages()[0])"], home))
    site = Path(where.stdout.strip())
    (site / "dev-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _ok(_run([*PIP, "--python", python, "install", "--no-deps", "--no-index", "-q", wheel], home))
    return home


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory outside the checkout."""
    assert not tmp_path.is_relative_to(ROOT)
    return tmp_path


def test_wheel_holds_the_stage_packages_and_nothing_else(names):
    """The wheel's top level is the eight stage packages and its metadata: no tests/, bench/."""
    top = {name.split("/")[0] for name in names}
    metadata = {name for name in top if name.endswith(".dist-info")}
    assert 1 == len(metadata)
    assert set(PACKAGES) == top - metadata


def test_wheel_carries_every_file_of_every_stage_package(source, names):
    """Every module and data file under the stage packages is in the wheel (migrations too)."""
    expected = set().union(*(_shipped(source / package) for package in PACKAGES))
    assert set() == set(NEEDED_AT_RUN_TIME) - expected
    assert any(name.startswith("plans/migrations/versions/") for name in expected)
    assert set() == expected - names


def test_wheel_carries_the_repositorys_crm_directory(names):
    """Every file of crm/ (SFDX project, field manifest, HubSpot notes) is in partnerplan/crm/."""
    expected = {f"partnerplan/{name}" for name in _shipped(ROOT / "crm")}
    assert "partnerplan/crm/salesforce/force-app/main/default/objects" in "\n".join(expected)
    assert expected == {name for name in names if name.startswith("partnerplan/crm/")}


def test_entry_point_is_the_cli(names, wheel):
    """The wheel declares the console script ``partnerplan = worker.cli:main``."""
    (entry_points,) = (name for name in names if name.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(wheel) as archive:
        declared = archive.read(entry_points).decode()
    assert "partnerplan = worker.cli:main" in declared.splitlines()


def test_installed_packages_come_from_the_install_not_the_checkout(installed, elsewhere, source):
    """Every package of the tree imports in the fresh virtualenv from it, never the checkout."""
    expected = {
        init.parent.relative_to(source).as_posix().replace("/", ".")
        for package in PACKAGES
        for init in (source / package).rglob("__init__.py")
    }
    python = installed / "bin" / "python"
    found = json.loads(_ok(_run([python, "-c", IMPORT_EVERY_PACKAGE, *PACKAGES], elsewhere)).stdout)
    assert {"connectors.salesforce", "connectors.hubspot", "worker.cli"} <= expected
    assert expected == set(found["packages"])
    assert [] == [f for f in found["files"] if not Path(f).resolve().is_relative_to(installed)]
    assert str(ROOT.resolve()) not in found["path"]
    assert [] == [f for f in found["finders"] if "editable" in f.lower()]


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["--help"], "partnerplan [OPTIONS] COMMAND"),
        (["sandbox", "serve", "--help"], "partnerplan sandbox serve"),
    ],
)
def test_console_script_help_works_from_another_directory(installed, elsewhere, argv, usage):
    """The installed ``partnerplan`` prints its usage and exits 0 outside the checkout."""
    done = _ok(_run([installed / "bin" / "partnerplan", *argv], elsewhere))
    assert "Usage:" in done.stdout
    assert usage in done.stdout


def test_init_writes_the_starter_config_from_the_installed_package(installed, elsewhere, source):
    """``partnerplan init DIR`` from the installed script writes every starter file, unchanged."""
    _ok(_run([installed / "bin" / "partnerplan", "init", "new-config"], elsewhere))
    starter = source / "worker" / "starter"
    expected = {
        path.relative_to(starter).as_posix(): path.read_bytes()
        for path in starter.rglob("*")
        if path.is_file() and not path.name.startswith("__")
    }
    written = elsewhere / "new-config"
    found = {
        path.relative_to(written).as_posix(): path.read_bytes()
        for path in written.rglob("*")
        if path.is_file()
    }
    assert expected == found


def test_an_installed_partnerplan_exports_the_crm_packages(installed, elsewhere):
    """``crm export`` run from the install (no checkout in reach) writes crm/ byte for byte."""
    code = "import sys, pathlib, worker.cli.crm as c; c.export(pathlib.Path(sys.argv[1]))"
    _ok(_run([installed / "bin" / "python", "-c", code, "exported"], elsewhere))
    crm, exported = ROOT / "crm", elsewhere / "exported"
    expected = {p.relative_to(crm): p.read_bytes() for p in crm.rglob("*") if p.is_file()}
    found = {p.relative_to(exported): p.read_bytes() for p in exported.rglob("*") if p.is_file()}
    assert expected == found
