"""Schema migrations (Alembic), driven programmatically so no ``alembic.ini`` is needed.

``partnerplan db upgrade`` calls :func:`upgrade`; :func:`pending_changes` compares the migrated
schema with the models, which a test uses to prove the migrations are complete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from plans.store import METADATA

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(connection: Any) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the latest)."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to ``revision`` (tests prove each migration can be undone)."""
    with engine.begin() as connection:
        command.downgrade(_config(connection), revision)


def current(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def pending_changes(engine: Engine) -> list[Any]:
    """Differences between the database and the models (empty when migrations are complete)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, METADATA))


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new migration from the models (developers: ``make migration``)."""
    with engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)
