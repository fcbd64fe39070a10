"""Plan commands: ``compute``, ``status``, ``explain``, ``metrics list`` and ``plans import``.

``status`` and ``explain`` read the store alone (config only adds metric labels), so they work
wherever the database is reachable; ``compute`` syncs the plans from config first.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from mappings.loader import load_mappings
from partnerplan.config import config_dir
from partnerplan.errors import ConfigProblems, ConfigurationError
from partnerplan.logs import redact
from plans.catalogue import Catalogue, load_catalogue
from plans.csvimport import (
    DecimalSeparator,
    delimiter_option,
    import_csv,
    validate_in_copy,
    write_atomically,
)
from plans.db import make_engine, session_scope
from plans.engine import COMPUTED, compute_progress
from plans.lineage import LineageRow, explain
from plans.planstore import sync_plans
from plans.status import StatusLine, status_lines
from plans.store import PartnerRow, PlanRow
from plans.trust import KindTrust
from report.formats import fmt as _fmt
from worker.cli.core import resolve_database_url
from worker.cli.options import ConfigOption, DatabaseOption, FormatOption, OutputFormat
from worker.project import load_project
from worker.trust import kind_trust

metrics_app = typer.Typer(help="The metric catalogue.", no_args_is_help=True)
plans_app = typer.Typer(help="Plan files.", no_args_is_help=True)
PlanOption = Annotated[
    list[str] | None, typer.Option("--plan", help="Only this plan (repeatable).")
]
PartnerOption = Annotated[
    list[str] | None, typer.Option("--partner", help="Only this partner's plans (repeatable).")
]
_STATUS_STYLE = {
    "achieved": "bold green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "no_data": "dim",
}


def _trust(config: Path | None, session: Session) -> dict[str, KindTrust] | None:
    """What the streams allow to be trusted, from the mappings alone (no secrets needed)."""
    root = config_dir(config)
    mappings, _ = load_mappings(root / "mappings")
    return None if mappings is None else kind_trust(session, mappings)


def _catalogue(config: Path | None) -> Catalogue:
    root = config_dir(config)
    catalogue, problems = load_catalogue(root if root.is_dir() else None)
    if catalogue is None:
        raise ConfigProblems(problems)
    return catalogue


def compute(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    plan: PlanOption = None,
    partner: PartnerOption = None,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", help="Compute as of this date/time (UTC; default: now)."),
    ] = None,
) -> None:
    """Sync plans from config, then compute the progress of every active and closed plan.

    Targets that read a stream whose last pull did not complete keep their last good values
    (the trust rule); a plan whose period has ended is computed once more, then frozen.
    """
    project = load_project(config_dir(config))
    settings = project.settings
    engine = make_engine(database_url or settings.database_url or None)
    moment = as_of.replace(tzinfo=UTC) if as_of else datetime.now(UTC)
    with session_scope(engine) as session:
        changed_plans = sync_plans(session, project.plans)
        for reason in _not_computed(session, set(plan or ())):
            Console(stderr=True, soft_wrap=True).print(reason, highlight=False)
        partner_ids: set[int] | None = None
        if partner:
            query = select(col(PartnerRow.key), col(PartnerRow.id))
            found = dict(session.execute(query.where(col(PartnerRow.key).in_(partner))).all())
            partner_ids = {pid for pid in found.values() if pid is not None}
        result = compute_progress(
            session,
            project.metrics,
            as_of=moment,
            reporting_currency=settings.reporting_currency,
            thresholds=(settings.status_thresholds.on_track, settings.status_thresholds.at_risk),
            partner_ids=partner_ids,
            plan_keys=set(plan) if plan else None,
            trust=kind_trust(session, project.mappings),
            rates_source=project.plans.rates_source,
        )
    console = Console(soft_wrap=True)
    console.print(
        f"{len(changed_plans)} plans changed in config; computed {result.targets} targets, "
        f"{len(result.changed_target_ids)} changed ({result.statements} SQL statements)"
    )
    if result.frozen_plan_ids:
        console.print(
            f"{len(result.frozen_plan_ids)} plan(s) whose period has ended were computed for the "
            "last time; their final numbers are frozen"
        )
    if result.stale:
        because = "; ".join(sorted(set(result.stale.values())))
        console.print(
            f"{len(result.stale)} target(s) kept their last good values (stale), because {because}",
            highlight=False,
        )


def _not_computed(session: Session, keys: set[str]) -> list[str]:
    """Why each of the plans asked for by key will not be computed (none: all will be)."""
    if not keys:
        return []
    rows = {
        row.key: row for row in session.scalars(select(PlanRow).where(col(PlanRow.key).in_(keys)))
    }
    unknown = sorted(keys - set(rows))
    if unknown:
        raise ConfigurationError(
            f"no plan {', '.join(repr(k) for k in unknown)} in config/plans; `partnerplan status` "
            "lists the plans"
        )
    reasons = []
    for key in sorted(keys):
        row = rows[key]
        if row.frozen_at is not None:
            reasons.append(
                f"plan {key!r}: its period ended on {row.period_end.isoformat()} and its final "
                f"numbers were frozen on {row.frozen_at:%Y-%m-%d %H:%M} UTC; edit the plan in "
                "config to compute it again"
            )
        elif row.status not in COMPUTED:
            reasons.append(
                f"plan {key!r} has status {row.status!r}; only {' and '.join(COMPUTED)} plans are "
                "computed"
            )
    return reasons


def _bar(attainment: Decimal | None, width: int = 10) -> str:
    if attainment is None:
        return "n/a"
    filled = max(0, min(width, int(attainment * width)))
    return f"{'█' * filled}{'░' * (width - filled)} {attainment * 100:.0f}%"


def _json_line(line: StatusLine) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in line.as_dict().items():
        if isinstance(value, Decimal):
            out[name] = str(value)
        elif isinstance(value, datetime):
            out[name] = value.isoformat()
        else:
            out[name] = value
    return out


def status(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    plan: PlanOption = None,
    partner: PartnerOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Show each target's progress: partner, plan, metric, target, actual, attainment, status."""
    engine = make_engine(resolve_database_url(config, database_url))
    with session_scope(engine) as session:
        lines = status_lines(
            session,
            _catalogue(config),
            plan_keys=set(plan) if plan else None,
            partner_keys=set(partner) if partner else None,
            trust=_trust(config, session),
        )
    if fmt is OutputFormat.json:
        print(json.dumps([_json_line(line) for line in lines], indent=2))
        return
    if fmt is OutputFormat.csv:
        buffer = io.StringIO()
        rows = [_json_line(line) for line in lines]
        fields = list(StatusLine.COLUMNS)
        writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        print(buffer.getvalue(), end="")
        return
    table = Table(title=f"plan progress ({len(lines)} targets)")
    for column in ("partner", "plan", "metric", "target", "actual", "attainment", "status"):
        table.add_column(column, justify="right" if column in ("target", "actual") else "left")
    for line in lines:
        partner_text = line.partner if line.partner_linked else f"{line.partner} (not in store)"
        style = _STATUS_STYLE.get(line.progress.status, "")
        table.add_row(
            partner_text,
            line.plan,
            line.label if line.target == line.metric else f"{line.label} [{line.target}]",
            _fmt(line.progress.target, line.currency),
            _fmt(line.progress.actual, line.currency),
            _bar(line.progress.attainment),
            (
                f"[{style}]{line.progress.status.replace('_', ' ')}[/]"
                if style
                else line.progress.status
            )
            + (" [bold red](stale)[/]" if line.stale else ""),
        )
    console = Console(width=160)
    console.print(table)
    freshness = _freshness_table(config, engine)
    if freshness is not None:
        console.print(freshness)


def _freshness_table(config: Path | None, engine: Engine) -> Table | None:
    """Each stream's last successful sync, flagged stale when older than settings allow."""
    from datetime import timedelta

    from worker.freshness import stream_freshness

    root = config_dir(config)
    if not (root / "settings.yaml").exists():
        return None
    project = load_project(root)
    streams = [(s.source, s.name) for s in project.mappings.streams.values()]
    stale_after = timedelta(minutes=project.settings.stale_after_minutes)
    with Session(engine) as session:
        rows = stream_freshness(session, streams, stale_after=stale_after)
    table = Table(title="data freshness")
    for column in ("source", "stream", "last successful sync", "watermark", "last run", "fresh"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.source,
            row.stream,
            row.last_success_at.strftime("%Y-%m-%d %H:%M UTC") if row.last_success_at else "never",
            row.watermark.strftime("%Y-%m-%d %H:%M UTC") if row.watermark else "",
            row.last_outcome or "",
            "[red]stale[/]" if row.stale else "[green]fresh[/]",
        )
    return table


def explain_command(
    plan: Annotated[str, typer.Argument(help="The plan key.")],
    metric: Annotated[str, typer.Argument(help="A metric key or a target key of the plan.")],
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """List the activities that make up a target's actual (its lineage)."""
    engine = make_engine(resolve_database_url(config, database_url))
    with session_scope(engine) as session:
        target, rows = explain(session, _catalogue(config), plan, metric)
    if fmt is not OutputFormat.table:
        data = [{**r.__dict__, "amount": None if r.amount is None else str(r.amount)} for r in rows]
        if fmt is OutputFormat.json:
            print(json.dumps(data, indent=2))
        else:
            out = io.StringIO()
            fields = list(LineageRow.__dataclass_fields__)
            writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(data)
            print(out.getvalue(), end="")
        return
    table = Table(title=f"{plan} / {target.key}: {len(rows)} activities")
    for column in ("part", "source", "record", "kind", "status", "date", "amount"):
        table.add_column(column)
    for r in rows:
        amount = "" if r.amount is None else f"{r.amount:,.2f} {r.currency or ''}".strip()
        table.add_row(r.part, r.source, r.record_id, r.kind, r.status or "", r.day or "", amount)
    Console(width=160).print(table)


@metrics_app.command("list")
def metrics_list(
    config: ConfigOption = None,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Print the metric catalogue: standard metrics and config/metrics.yaml."""
    catalogue = _catalogue(config)
    metrics = [m for m in catalogue.metrics.values() if category in (None, m.category)]
    if fmt is OutputFormat.json:
        print(
            json.dumps(
                [m.model_dump(mode="json", by_alias=True, exclude_defaults=True) for m in metrics],
                indent=2,
            )
        )
        return
    if fmt is OutputFormat.csv:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["key", "label", "category", "aggregate", "unit", "direction", "description"]
        )
        for m in metrics:
            writer.writerow(
                [m.key, m.label, m.category, m.aggregate, m.unit, m.direction, m.description]
            )
        print(out.getvalue(), end="")
        return
    table = Table(title=f"{len(metrics)} metrics")
    for column in ("key", "label", "category", "aggregate", "unit", "better", "source"):
        table.add_column(column)
    for m in metrics:
        origin = "standard" if m.key in catalogue.standard else "custom"
        table.add_row(
            m.key, m.label, m.category, str(m.aggregate), str(m.unit), str(m.direction), origin
        )
    Console(width=160).print(table)


@plans_app.command("import")
def plans_import(
    source: Annotated[
        Path,
        typer.Argument(
            help="A CSV export: one row per partner x metric.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    config: ConfigOption = None,
    decimal_separator: Annotated[
        DecimalSeparator | None,
        typer.Option(
            "--decimal-separator",
            help="The sheet's decimal separator. Without it, a number that reads differently "
            "with . and , (50.000) is refused.",
            show_default=False,
        ),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(
            help="The cell separator: , ; or tab (default: detected from the header).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check everything and show the changes; write nothing."),
    ] = False,
) -> None:
    """Create or update plans and targets in config/plans from a spreadsheet export.

    Nothing is written unless every row is good and the whole config, with the merged file,
    validates; every problem is printed as FILE.csv:LINE: column: message (exit 2).
    """
    project = load_project(config_dir(config))
    result = import_csv(
        source,
        project.root / "plans",
        project.metrics,
        project.plans.plans,
        fiscal_year_start_month=project.settings.fiscal_year_start_month,
        decimal=decimal_separator,
        delimiter=delimiter_option(delimiter) if delimiter is not None else None,
    )
    validate_in_copy(project.root, result, load_project)
    for warning in result.warnings:
        typer.echo(redact(warning.render()), err=True)
    if dry_run:
        verb = "update" if result.document.existed else "create"
        typer.echo(f"would {verb} {result.output}:")
        for line in result.changes.details():
            typer.echo(redact(line))  # cell text, echoed: a pasted secret stays masked
        typer.echo(f"{result.changes.summary()} (dry run: nothing written)")
        return
    write_atomically(result)
    typer.echo(f"{result.changes.summary()}; wrote {result.output}")


def register(app: typer.Typer) -> None:
    """Attach the plan commands to the root app."""
    app.command()(compute)
    app.command()(status)
    app.command("explain")(explain_command)
    app.add_typer(metrics_app, name="metrics")
    app.add_typer(plans_app, name="plans")
