"""Core commands: ``init``, ``validate`` and ``db upgrade``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from worker.cli.options import ConfigOption, DatabaseOption

if TYPE_CHECKING:
    from partnerplan.errors import Problem
    from worker.project import Project

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
    """Check every config file; print problems as FILE:LINE: message and exit 2 if any.

    With a store at hand, also warn about plans whose partner it has never seen, plans the next
    run will change for the partner (a new version of a plan they have seen) and conflicts with
    CRM edits.
    """
    from partnerplan.config import config_dir
    from partnerplan.logs import redact
    from worker.project import load_project

    project = load_project(config_dir(config))
    store = [*_unknown_partners(project), *_pending_versions(project)]
    for warning in [*project.warnings, *store]:
        typer.echo(redact(warning.render()), err=True)
    typer.echo(f"{project.root}: configuration is valid")


def _unknown_partners(project: Project) -> list[Problem]:
    """A warning per plan whose partner the store has never seen (when there is a store).

    The CRM decides which partners exist, so a plan for a key no sync has brought in is most
    likely a typo, or a partner not yet flagged in the CRM; it would show "no data" forever.
    Without a store (before the first run) there is nothing to check against.
    """
    from sqlalchemy import select
    from sqlmodel import Session, col

    from partnerplan.errors import ConfigurationError, Problem
    from plans.store import PartnerRow
    from worker.cli.store import open_store

    try:
        engine = open_store(project.root, None)
    except ConfigurationError:
        return []
    with Session(engine) as session:
        known = set(session.scalars(select(col(PartnerRow.key))))
    engine.dispose()
    if not known:
        return []
    return [
        Problem(
            plan.file,
            plan.partner_line or plan.line,
            f"partner {plan.partner_key!r} of plan {plan.key!r} is not in the store: no sync "
            "has brought it in; check the key (Partner_Key__c / partner_key in the CRM)",
            severity="warning",
        )
        for plan in project.plans.plans
        if plan.partner_key not in known
    ]


def _pending_versions(project: Project) -> list[Problem]:
    """What the next run will do to plans the partner has seen (:mod:`plans.pending`)."""
    from sqlalchemy import inspect
    from sqlmodel import Session

    from partnerplan.errors import ConfigurationError
    from plans.pending import pending_changes
    from worker.cli.store import open_store

    try:
        engine = open_store(project.root, None)
    except ConfigurationError:
        return []
    try:
        if not inspect(engine).has_table("plan_version"):
            return []
        with Session(engine) as session:
            return pending_changes(session, project.plans)
    finally:
        engine.dispose()


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
