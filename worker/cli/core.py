"""Core commands: ``init``, ``validate`` and ``db upgrade``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from worker.cli.options import ConfigOption, DatabaseOption

STARTER = Path(__file__).resolve().parent.parent / "starter"
db_app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True)


def init(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="Where to write the starter config.")
    ],
    force: Annotated[bool, typer.Option(help="Overwrite files that already exist.")] = False,
) -> None:
    """Write a commented starter config that a new user fills in."""
    import shutil

    from partnerplan.errors import ConfigurationError

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
        f"{directory / 'settings.yaml'} (`partnerplan sandbox serve --format env` prints them "
        f"for the local sandbox CRMs), then `partnerplan validate --config {directory}`."
    )


def validate(config: ConfigOption = None) -> None:
    """Check every config file; print problems as FILE:LINE: message and exit 2 if any."""
    from partnerplan.config import config_dir
    from partnerplan.logs import redact
    from worker.project import load_project

    project = load_project(config_dir(config))
    for warning in project.warnings:
        typer.echo(redact(warning.render()), err=True)
    typer.echo(f"{project.root}: configuration is valid")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
    """Create or migrate the store's tables to the latest schema (needs no CRM secret)."""
    from plans import migrate
    from plans.db import make_engine
    from worker.cli.store import database_url as resolve

    engine = make_engine(resolve(config, database_url))
    migrate.upgrade(engine)
    typer.echo(f"database at revision {migrate.current(engine)}")


def register(app: typer.Typer) -> None:
    """Attach the core commands to the root app."""
    app.command()(init)
    app.command()(validate)
    app.add_typer(db_app, name="db")
