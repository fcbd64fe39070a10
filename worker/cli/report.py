"""``partnerplan report``: a plan's QBR page, or the portfolio dashboard with every plan's page.

``--plan KEY -o FILE.html`` writes one self-contained page (``--pdf`` also prints FILE.pdf through
a headless Chromium); ``--all -o DIR`` writes ``DIR/index.html`` and one page per plan. The
report reads the store; config adds metric labels, the reporting currency and the streams whose
freshness each page shows, as for ``status``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlmodel import Session

from partnerplan.config import config_dir
from partnerplan.errors import ConfigProblems
from plans.catalogue import load_catalogue
from plans.db import make_engine
from report import (
    Context,
    page_file,
    plan_html,
    plan_keys,
    plan_report,
    portfolio,
    portfolio_html,
    print_pdf,
    write,
)
from worker import jobs
from worker.cli.options import ConfigOption, DatabaseOption
from worker.freshness import stream_freshness
from worker.project import load_project
from worker.settings import Settings

SINCE_DAYS = 7
"""``--since`` defaults to a week before the report: "what changed since last week"."""


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 1024:,.0f} KB"


def report(
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="The page to write (--plan), or the directory (--all)."
        ),
    ],
    plan: Annotated[str | None, typer.Option("--plan", help="The plan's key.")] = None,
    all_plans: Annotated[
        bool,
        typer.Option("--all", help="The portfolio dashboard (index.html) and every plan's page."),
    ] = False,
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            formats=["%Y-%m-%d"],
            help=f"Show what changed since this date (default: {SINCE_DAYS} days before today).",
            show_default=False,
        ),
    ] = None,
    pdf: Annotated[
        bool,
        typer.Option("--pdf", help="Also print the page to FILE.pdf with a headless Chromium."),
    ] = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Write a plan's QBR report, or the portfolio dashboard, as self-contained HTML."""
    if (plan is None) == (not all_plans):
        raise typer.BadParameter("give --plan KEY or --all", param_hint="--plan / --all")
    if pdf and all_plans:
        raise typer.BadParameter("--pdf prints one plan's page: use it with --plan")
    root = config_dir(config)
    settings = Settings()
    streams: list[tuple[str, str]] = []
    if (root / "settings.yaml").exists():
        project = load_project(root)
        settings, catalogue = project.settings, project.metrics
        streams = [(s.source, s.name) for s in project.mappings.streams.values()]
    else:
        loaded, problems = load_catalogue(root if root.is_dir() else None)
        if loaded is None:
            raise ConfigProblems(problems)
        catalogue = loaded
    now = jobs.now()
    stale_after = timedelta(minutes=settings.stale_after_minutes)
    engine = make_engine(database_url or settings.database_url or None)
    console = Console()
    with Session(engine) as session:
        context = Context(
            catalogue=catalogue,
            reporting_currency=settings.reporting_currency,
            now=now,
            since=since.date() if since else now.date() - timedelta(days=SINCE_DAYS),
            stale_after=stale_after,
            freshness=tuple(stream_freshness(session, streams, stale_after=stale_after)),
        )
        if plan is not None:
            page = write(output, plan_html(plan_report(session, plan, context)))
            console.print(f"wrote {page} ({_size(page)})")
            if pdf:
                printed = print_pdf(page, page.with_suffix(".pdf"))
                console.print(f"wrote {printed} ({_size(printed)})")
            return
        index = write(output / "index.html", portfolio_html(portfolio(session, context)))
        keys = plan_keys(session)
        for key in keys:
            html = plan_html(plan_report(session, key, context), portfolio_link="index.html")
            write(output / page_file(key), html)
    console.print(f"wrote {index} ({_size(index)}) and {len(keys)} plan pages beside it")


def register(app: typer.Typer) -> None:
    """Attach the report command to the root app."""
    app.command()(report)
