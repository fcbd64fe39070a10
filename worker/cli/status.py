"""Reading progress back: ``status`` (and ``status --check``) and ``explain``.

Both read the store (the config only adds labels, units, freshness and links) and need no CRM
secret; ``status --check`` is the exit code cron and monitoring read.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from worker.cli.options import (
    ConfigOption,
    DatabaseOption,
    FormatOption,
    OutputFormat,
    PartnerOption,
    PlanOption,
)
from worker.cli.store import catalogue, require_known

if TYPE_CHECKING:
    from plans.status import StatusLine
    from worker.freshness import StreamFreshness
    from worker.project import Project

_STATUS_STYLE = {
    "achieved": "bold green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "no_data": "dim",
}
EXIT_FRESH, EXIT_STALE, EXIT_BROKEN = 0, 1, 2


def _bar(attainment: Decimal | None, width: int = 10) -> str:
    if attainment is None:
        return "n/a"
    filled = max(0, min(width, int(attainment * width)))
    return f"{'█' * filled}{'░' * (width - filled)} {attainment * 100:.0f}%"


def _number(value: Decimal) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


def with_unit(value: Decimal | None, unit: str, currency: str | None = None) -> str:
    """A value as people read it: ``1,000 USD``, ``35 %``, ``12.5 days``, ``1.2x``, ``35``."""
    if value is None:
        return "n/a"
    if unit == "money" or currency:
        return f"{_number(value)} {currency}".rstrip() if currency else _number(value)
    if unit == "percent":
        return f"{_number(value.quantize(Decimal('0.1')))} %"
    if unit == "days":
        return f"{_number(value.quantize(Decimal('0.1')))} days"
    if unit == "ratio":
        return f"{_number(value.quantize(Decimal('0.01')))}x"
    return _number(value)


def status(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    plan: PlanOption = None,
    partner: PartnerOption = None,
    fmt: FormatOption = OutputFormat.table,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Exit 0 when every stream is fresh, 1 when one is stale or its last run "
            "failed, 2 when the config or store is broken (for cron and monitoring).",
        ),
    ] = False,
) -> None:
    """Show each target's progress by partner, plan, section and target, with units."""
    if check:
        _check(config, database_url, fmt)
        return
    from sqlmodel import Session, col

    from plans.status import StatusLine, status_lines
    from plans.store import PlanRow
    from worker.cli.output import Column, emit
    from worker.cli.store import open_store, read_project
    from worker.trust import kind_trust

    engine = open_store(config, database_url)
    project = read_project(config)
    with Session(engine) as session:
        require_known(session, col(PlanRow.key), plan, "plan")
        require_known(session, col(PlanRow.partner_key), partner, "partner")
        lines = status_lines(
            session,
            catalogue(config),
            plan_keys=set(plan) if plan else None,
            partner_keys=set(partner) if partner else None,
            trust=kind_trust(session, project.mappings) if project is not None else None,
        )
    rows = [line.as_dict() for line in lines]
    if fmt is not OutputFormat.table:
        emit(rows, list(StatusLine.COLUMNS), fmt)
        return
    columns: list[Column | str] = [
        "partner",
        "plan",
        "section",
        "target",
        "metric",
        Column("target_value", "target value", right=True),
        Column("actual", right=True),
        "attainment",
        "status",
    ]
    footer = _freshness_footer(engine, project)
    emit(
        rows,
        columns,
        fmt,
        title=f"plan progress ({len(lines)} targets)",
        cells=[_status_cells(line) for line in lines],
        footer=None,
    )
    if footer is not None:
        from worker.cli.output import console

        console().print(footer)


def _status_cells(line: StatusLine) -> list[str]:
    from rich.markup import escape

    progress = line.progress
    style = _STATUS_STYLE.get(progress.status, "")
    shown = progress.status.replace("_", " ")
    return [
        escape(line.partner if line.partner_linked else f"{line.partner} (not in store)"),
        escape(line.plan),
        escape(line.section),
        escape(line.target),
        escape(line.label),
        with_unit(progress.target, line.unit, line.currency),
        with_unit(progress.actual, line.unit, line.currency),
        _bar(progress.attainment),
        (f"[{style}]{shown}[/]" if style else shown)
        + (" [bold red](stale)[/]" if line.stale else ""),
    ]


def _freshness(engine: Any, project: Project) -> list[StreamFreshness]:
    from datetime import timedelta

    from sqlmodel import Session

    from worker.freshness import stream_freshness

    streams = [(s.source, s.name) for s in project.mappings.streams.values()]
    stale_after = timedelta(minutes=project.settings.stale_after_minutes)
    with Session(engine) as session:
        return stream_freshness(session, streams, stale_after=stale_after)


def _freshness_footer(engine: Any, project: Project | None) -> Any:
    """Each stream's last successful sync, flagged stale when older than settings allow."""
    if project is None:
        return None
    from rich.table import Table

    table = Table(title="data freshness")
    for column in ("source", "stream", "last successful sync", "watermark", "last run", "fresh"):
        table.add_column(column)
    for row in _freshness(engine, project):
        table.add_row(
            row.source,
            row.stream,
            row.last_success_at.strftime("%Y-%m-%d %H:%M UTC") if row.last_success_at else "never",
            row.watermark.strftime("%Y-%m-%d %H:%M UTC") if row.watermark else "",
            row.last_outcome or "",
            "[red]stale[/]" if row.stale else "[green]fresh[/]",
        )
    return table


def _check(config: Path | None, database_url: str | None, fmt: OutputFormat) -> None:
    """``status --check``: one line per stream that is not fresh; the exit code says it all."""
    from partnerplan.errors import ConfigurationError
    from worker import jobs
    from worker.cli.output import Column, emit
    from worker.cli.store import open_store, read_project

    try:
        project = read_project(config)
        if project is None:
            raise ConfigurationError("no settings.yaml: point --config at the config directory")
        engine = open_store(config, database_url)
        streams = _freshness(engine, project)
    except ConfigurationError as exc:  # also ConfigProblems: a broken config is exit 2
        typer.echo(f"broken: {exc}", err=True)
        raise typer.Exit(EXIT_BROKEN) from None
    rows = []
    for s in streams:
        failed = s.last_outcome in (jobs.FAILED, jobs.INCOMPLETE)
        state = "failed" if failed else "stale" if s.stale else "fresh"
        rows.append(
            {
                "source": s.source,
                "stream": s.stream,
                "state": state,
                "last_success_at": s.last_success_at,
                "last_outcome": s.last_outcome,
            }
        )
    bad = [r for r in rows if r["state"] != "fresh"]
    if fmt is OutputFormat.table:
        for r in bad:
            last = r["last_success_at"]
            since = last.isoformat() if isinstance(last, datetime) else "never"
            typer.echo(
                f"{r['state']}: {r['source']}/{r['stream']}: last complete sync {since}, "
                f"last run {r['last_outcome'] or 'none'}"
            )
        typer.echo(
            f"{len(rows) - len(bad)} of {len(rows)} streams fresh "
            f"(stale after {project.settings.stale_after_minutes} min)"
        )
    else:
        columns = [Column(k) for k in ("source", "stream", "state", "last_success_at")]
        emit(rows, [*columns, Column("last_outcome")], fmt)
    if bad:
        raise typer.Exit(EXIT_STALE)


def explain_command(
    plan: Annotated[str, typer.Argument(metavar="PLAN", help="The plan key.")],
    metric: Annotated[
        str, typer.Argument(metavar="TARGET", help="A target key, or a metric key of the plan.")
    ],
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """List the activities that make up a target's actual, each with a link to its record."""
    from sqlmodel import Session

    from plans.lineage import explain
    from worker.cli.output import Column, emit
    from worker.cli.store import open_store, read_project

    engine = open_store(config, database_url)
    project = read_project(config)
    with Session(engine) as session:
        target, lineage = explain(session, catalogue(config), plan, metric)
    rows = [{**row.__dict__, "url": _link(project, row)} for row in lineage]
    columns: list[Column | str] = [
        "part",
        "source",
        "record_id",
        "name",
        "kind",
        "status",
        "day",
        Column("amount", right=True),
        "currency",
        Column("url", whole=True),
    ]
    cells = [
        [
            str(r["part"]),
            str(r["source"]),
            str(r["record_id"]),
            str(r["name"] or ""),
            str(r["kind"]),
            str(r["status"] or ""),
            str(r["day"] or ""),
            "" if r["amount"] is None else f"{r['amount']:,.2f}",
            str(r["currency"] or ""),
            f"[link={r['url']}]{r['url']}[/link]" if r["url"] else "",
        ]
        for r in rows
    ]
    title = f"{plan} / {target.key}: {len(rows)} activities"
    emit(rows, columns, fmt, title=title, cells=cells)


def _link(project: Project | None, row: Any) -> str | None:
    """The record's page in its CRM, from the source's settings (None when unknown)."""
    if project is None:
        return None
    from connectors.crms import REGISTRY

    source = project.settings.sources.get(row.source)
    if source is None:
        return None
    url: str | None = REGISTRY.dialect(source.type).record_url(source, row.object, row.record_id)
    return url


def register(app: typer.Typer) -> None:
    """Attach ``status`` and ``explain`` to the root app."""
    app.command()(status)
    app.command("explain")(explain_command)
