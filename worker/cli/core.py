"""Core commands: ``init``, ``validate`` and ``db upgrade``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from partnerplan.config import config_dir
from partnerplan.errors import ConfigurationError, Problem
from partnerplan.logs import redact
from plans import migrate
from plans.db import database_url, make_engine
from plans.pending import pending_changes
from worker.cli.options import ConfigOption, DatabaseOption
from worker.project import Project, load_project

STARTER = Path(__file__).resolve().parent.parent / "starter"
db_app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True)


def init(
    directory: Annotated[Path, typer.Argument(help="Where to write the starter config.")],
    force: Annotated[bool, typer.Option(help="Overwrite files that already exist.")] = False,
) -> None:
    """Write a commented starter config that a new user fills in."""
    written = 0
    for source in sorted(STARTER.rglob("*")):
        if source.is_dir() or source.name.startswith("__"):
            continue
        target = directory / source.relative_to(STARTER)
        if target.exists() and not force:
            raise ConfigurationError(
                f"{target} already exists; pass --force to overwrite or choose another directory"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        written += 1
    typer.echo(
        f"Wrote {written} files to {directory}. Next: set the variables named in "
        f"{directory / 'settings.yaml'}, then `partnerplan validate --config {directory}`."
    )


def validate(config: ConfigOption = None) -> None:
    """Check every config file; print problems as FILE:LINE: message and exit 2 if any.

    With a store at hand, also warn about plans the next run will change for the partner (a
    new version of a plan they have seen) and about conflicts with CRM edits.
    """
    project = load_project(config_dir(config))
    for warning in [*project.warnings, *_store_warnings(project)]:
        typer.echo(redact(warning.render()), err=True)
    typer.echo(f"{project.root}: configuration is valid")


def _store_warnings(project: Project) -> list[Problem]:
    """What the store says about config (nothing when there is no store yet, or none reachable)."""
    url = database_url(project.settings.database_url or None)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    try:
        engine = make_engine(url)
        if not inspect(engine).has_table("plan_version"):
            return []
        with Session(engine) as session:
            return pending_changes(session, project.plans)
    except SQLAlchemyError:
        return []


def resolve_database_url(config: Path | None, database_url: str | None) -> str | None:
    """``--database-url``, else ``DATABASE_URL``/settings.yaml, else the SQLite default."""
    if database_url:
        return database_url
    root = config_dir(config)
    if (root / "settings.yaml").exists():
        return load_project(root).settings.database_url or None
    return None


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
    """Create or migrate the store's tables to the latest schema."""
    engine = make_engine(resolve_database_url(config, database_url))
    migrate.upgrade(engine)
    typer.echo(f"database at revision {migrate.current(engine)}")


def register(app: typer.Typer) -> None:
    """Attach the core commands to the root app."""
    app.command()(init)
    app.command()(validate)
    app.add_typer(db_app, name="db")
