"""``partnerplan crm export DIR``: write out what an admin installs in the CRM.

The repository's ``crm/`` (the Salesforce SFDX project, the HubSpot data model) is the one
source: it travels inside the wheel as package data of :mod:`partnerplan` (``partnerplan/crm``
links to it in a checkout), so an installed partnerplan holds the same files, byte for byte. A
pip user has no checkout to run ``sf project deploy start`` in; this command copies the files to
a directory of their choosing.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated

import typer

from partnerplan.errors import ConfigurationError
from worker.cli.push import crm_app

DirectoryArgument = Annotated[
    Path, typer.Argument(help="Where to write crm/ (salesforce/, hubspot/); created if missing.")
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Write into a directory that already holds files.")
]


def shipped() -> Traversable:
    """The installed ``crm/`` (in a checkout, the repository's own, through the link)."""
    return resources.files("partnerplan") / "crm"


def _copy(source: Traversable, target: Path) -> int:
    """Copy a package-data tree file by file (any loader, not only a file system); a count."""
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    for entry in source.iterdir():
        if entry.is_dir():
            count += _copy(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())
            count += 1
    return count


def export(directory: DirectoryArgument, force: ForceOption = False) -> None:
    """Write the CRM packages partnerplan ships into DIRECTORY (the SFDX project, HubSpot notes)."""
    source = shipped()
    if not source.is_dir():
        raise ConfigurationError(
            "this installation carries no crm/ package data; reinstall partnerplan from its wheel"
        )
    if directory.exists() and not directory.is_dir():
        raise ConfigurationError(f"{directory} is a file; name a directory to write crm/ into")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise ConfigurationError(
            f"{directory} is not empty; name a new directory, or pass --force to write into it"
        )
    count = _copy(source, directory)
    typer.echo(f"wrote {count} files to {directory}")
    typer.echo(
        f"Salesforce: cd {directory / 'salesforce'} && "
        "sf project deploy start --source-dir force-app (see README.md there)"
    )


def register(app: typer.Typer) -> None:
    """Attach ``crm export`` to the ``crm`` group that ``crm setup`` lives in (``app`` holds it)."""
    crm_app.command("export")(export)
