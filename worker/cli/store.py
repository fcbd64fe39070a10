"""Opening the store and the config for the commands that only read them.

``status``, ``runs``, ``explain``, ``quarantine list``, ``push errors``, ``metrics list`` and
``plans show`` never call a CRM, so they load the config with unset variables read as blank
(:func:`partnerplan.config.unset_variables_blank`): no CRM secret is needed to read a report.
They never create a store either: a SQLite file that does not exist, or a store without
tables, is a :class:`~partnerplan.errors.ConfigurationError` (exit 2) that says which store was
looked at and to run ``partnerplan db upgrade``, instead of an empty ``partnerplan.db`` left
behind and a SQLAlchemy traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from partnerplan.config import config_dir, unset_variables_blank
from partnerplan.errors import ConfigurationError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from plans.catalogue import Catalogue
    from worker.project import Project

REQUIRED_TABLE = "run"
"""A table every revision of the schema has: its absence means the store was never upgraded."""


def read_project(config: Path | None) -> Project | None:
    """The config, for reading only (no secret needed); None when there is no settings.yaml."""
    from worker.project import load_project

    root = config_dir(config)
    if not (root / "settings.yaml").exists():
        return None
    with unset_variables_blank():
        return load_project(root)


def database_url(config: Path | None, explicit: str | None) -> str:
    """``--database-url``, else ``DATABASE_URL``, else settings.yaml's, else the SQLite default."""
    import os

    from plans.db import database_url as resolve

    if explicit:
        return resolve(explicit)
    if os.environ.get("DATABASE_URL"):
        return resolve(None)
    project = read_project(config)
    return resolve(project.settings.database_url if project is not None else None)


def open_store(config: Path | None, explicit: str | None) -> Engine:
    """An engine on an existing, migrated store, or a ConfigurationError that says what to do."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from plans.db import make_engine

    url = database_url(config, explicit)
    shown = make_url(url).render_as_string(hide_password=True)
    fix = f"run `partnerplan db upgrade --database-url {shown}` (or `partnerplan run`) first"
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database or "")
        if not path.exists():
            raise ConfigurationError(
                f"no store at {path.resolve()}: {fix}; or point --database-url / DATABASE_URL "
                "at the store your runs write to"
            )
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    except OperationalError as exc:
        raise ConfigurationError(
            f"cannot open the store at {shown}: {exc.orig.__class__.__name__}; check "
            "--database-url / DATABASE_URL and that the database server is up"
        ) from None
    if REQUIRED_TABLE not in tables:
        raise ConfigurationError(f"the store at {shown} has no tables: {fix}")
    return engine


def catalogue(config: Path | None) -> Catalogue:
    """The metric catalogue: the standard metrics and config/metrics.yaml when there is one."""
    from partnerplan.errors import ConfigProblems
    from plans.catalogue import load_catalogue

    root = config_dir(config)
    loaded, problems = load_catalogue(root if root.is_dir() else None)
    if loaded is None:
        raise ConfigProblems(problems)
    return loaded


def require_known(session: Session, column: Any, wanted: list[str] | None, what: str) -> None:
    """Raise ConfigurationError naming the keys of ``wanted`` the store has no plan for."""
    if not wanted:
        return
    import difflib

    from sqlalchemy import select

    from partnerplan.errors import ConfigurationError

    known = set(session.scalars(select(column).distinct()))
    unknown = sorted(set(wanted) - known)
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigurationError(
            f"no {what} {', '.join(map(repr, unknown))} in the store{hint} "
            f"(`partnerplan plans show` lists them; a plan added to config/plans is stored by "
            f"the next `partnerplan run` or `partnerplan compute`)"
        )
