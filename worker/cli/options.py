"""Options shared by many commands, declared once, each with a metavar a person can read.

Nothing here imports more than Typer: every command module imports this one at load time, and
``partnerplan --help`` loads every command module.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="DIR",
        help="Config directory (default: $PARTNERPLAN_CONFIG, else ./config).",
        show_default=False,
    ),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        help="Store URL (default: $DATABASE_URL, settings.yaml, else sqlite:///partnerplan.db).",
        show_default=False,
    ),
]


class OutputFormat(StrEnum):
    """How a listing command prints its result."""

    table = "table"
    json = "json"
    csv = "csv"


FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        "-f",
        metavar="table|json|csv",
        help="Output format.",
        case_sensitive=False,
    ),
]
PlanOption = Annotated[
    list[str] | None,
    typer.Option("--plan", metavar="KEY", help="Only this plan (repeatable)."),
]
PartnerOption = Annotated[
    list[str] | None,
    typer.Option("--partner", metavar="KEY", help="Only this partner's plans (repeatable)."),
]
StreamsOption = Annotated[
    list[str] | None,
    typer.Option("--stream", "-s", metavar="STREAM", help="Only this stream (repeatable)."),
]
StreamOption = Annotated[
    str | None, typer.Option("--stream", "-s", metavar="STREAM", help="Only this stream.")
]
LimitOption = Annotated[
    int, typer.Option("--limit", metavar="N", help="How many, newest first.", min=1)
]
