"""Plan commands: ``compute``, ``metrics list``, ``plans show`` (the plans, or one plan
whole), ``plans resolve`` and ``plans import``.

``metrics list`` and ``plans show`` read the store (config only adds labels and units) and need
no CRM secret; ``compute`` syncs the plans from config first. ``status`` and ``explain`` are in
:mod:`worker.cli.status`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    from sqlmodel import Session


metrics_app = typer.Typer(help="The metric catalogue.", no_args_is_help=True)
plans_app = typer.Typer(
    help="Plans: show those in the store, import a spreadsheet.", no_args_is_help=True
)


def compute(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    plan: PlanOption = None,
    partner: PartnerOption = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of", metavar="DATE", help="Compute as of this date/time (UTC; default: now)."
        ),
    ] = None,
) -> None:
    """Sync plans from config, then compute the progress of every active and closed plan.

    Targets that read a stream whose last pull did not complete keep their last good values
    (the trust rule); a plan whose period has ended is computed once more, then frozen.
    """
    from datetime import UTC

    from sqlalchemy import select
    from sqlmodel import col

    from partnerplan.config import config_dir
    from plans.db import make_engine, session_scope
    from plans.engine import compute_progress
    from plans.planstore import sync_plans
    from plans.store import PartnerRow
    from worker.project import load_project
    from worker.trust import kind_trust

    project = load_project(config_dir(config))
    settings = project.settings
    engine = make_engine(database_url or settings.database_url or None)
    moment = as_of.replace(tzinfo=UTC) if as_of else datetime.now(UTC)
    with session_scope(engine) as session:
        changed_plans = sync_plans(session, project.plans)
        for reason in _not_computed(session, set(plan or ())):
            typer.echo(reason, err=True)
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
    typer.echo(
        f"{len(changed_plans)} plans changed in config; computed {result.targets} targets, "
        f"{len(result.changed_target_ids)} changed ({result.statements} SQL statements)"
    )
    if result.frozen_plan_ids:
        typer.echo(
            f"{len(result.frozen_plan_ids)} plan(s) whose period has ended were computed for the "
            "last time; their final numbers are frozen"
        )
    if result.stale:
        because = "; ".join(sorted(set(result.stale.values())))
        typer.echo(
            f"{len(result.stale)} target(s) kept their last good values (stale), because {because}"
        )


def _not_computed(session: Session, keys: set[str]) -> list[str]:
    """Why each of the plans asked for by key will not be computed (none: all will be)."""
    if not keys:
        return []
    from sqlalchemy import select
    from sqlmodel import col

    from partnerplan.errors import ConfigurationError
    from plans.engine import COMPUTED
    from plans.store import PlanRow

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


@metrics_app.command("list")
def metrics_list(
    config: ConfigOption = None,
    category: Annotated[
        str | None, typer.Option(metavar="CATEGORY", help="Only this category.")
    ] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Print the metric catalogue: standard metrics and config/metrics.yaml."""
    import json

    from worker.cli.output import emit

    known = catalogue(config)
    metrics = [m for m in known.metrics.values() if category in (None, m.category)]
    if fmt is OutputFormat.json:
        dumped = [m.model_dump(mode="json", by_alias=True, exclude_defaults=True) for m in metrics]
        typer.echo(json.dumps(dumped, indent=2))
        return
    rows = [
        {
            "key": m.key,
            "label": m.label,
            "category": m.category,
            "aggregate": str(m.aggregate),
            "unit": str(m.unit),
            "direction": str(m.direction),
            "origin": "standard" if m.key in known.standard else "custom",
            "description": m.description,
        }
        for m in metrics
    ]
    columns = ["key", "label", "category", "aggregate", "unit", "direction", "origin"]
    if fmt is OutputFormat.csv:
        columns.append("description")
    emit(rows, columns, fmt, title=f"{len(metrics)} metrics")


@plans_app.command("show")
def plans_show(
    key: Annotated[
        str | None,
        typer.Argument(
            help="A plan's key: that plan whole (status, version, acceptance, change requests, "
            "sections, targets with progress, actions, investment, accounts, files)."
        ),
    ] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    plan: PlanOption = None,
    partner: PartnerOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The plans in the store (partner, period, status, sections, targets, score), or one whole."""
    if key is not None:
        _show_plan(key, config, database_url, fmt)
        return
    from sqlalchemy import func, select
    from sqlmodel import Session, col

    from plans.store import PlanRow, SectionRow, TargetRow
    from worker.cli.output import Column, emit
    from worker.cli.store import open_store

    engine = open_store(config, database_url)
    with Session(engine) as session:
        require_known(session, col(PlanRow.key), plan, "plan")
        require_known(session, col(PlanRow.partner_key), partner, "partner")
        query = select(PlanRow).order_by(col(PlanRow.partner_key), col(PlanRow.key))
        if plan:
            query = query.where(col(PlanRow.key).in_(plan))
        if partner:
            query = query.where(col(PlanRow.partner_key).in_(partner))
        plans = list(session.scalars(query))
        targets = dict(
            session.execute(
                select(col(TargetRow.plan_id), func.count()).group_by(col(TargetRow.plan_id))
            ).all()
        )
        sections: dict[int, list[str]] = {}
        for plan_id, name in session.execute(
            select(col(SectionRow.plan_id), col(SectionRow.name)).order_by(col(SectionRow.position))
        ):
            sections.setdefault(plan_id, []).append(name)
    rows = [
        {
            "plan": p.key,
            "partner": p.partner_key,
            "partner_linked": p.partner_id is not None,
            "period": p.period,
            "start": p.period_start,
            "end": p.period_end,
            "status": p.status,
            "owner": p.owner,
            "sections": sections.get(p.id or 0, []),
            "targets": targets.get(p.id, 0),
            "score": p.score,
        }
        for p in plans
    ]
    columns: list[Column | str] = [
        "plan",
        "partner",
        "period",
        "status",
        "sections",
        Column("targets", right=True),
        Column("score", right=True),
    ]
    cells = [
        [
            str(r["plan"]),
            str(r["partner"]),
            str(r["period"]),
            str(r["status"]),
            ", ".join(r["sections"]),
            str(r["targets"]),
            "" if r["score"] is None else f"{r['score'] * 100:.0f} %",
        ]
        for r in rows
    ]
    emit(rows, columns, fmt, title=f"{len(rows)} plans", cells=cells)


@plans_app.command("import")
def plans_import(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.csv",
            help="A CSV export: one row per partner x metric.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    config: ConfigOption = None,
    decimal_separator: Annotated[
        str | None,
        typer.Option(
            "--decimal-separator",
            metavar=". | ,",
            help="The sheet's decimal separator. Without it, a number that reads differently "
            "with . and , (50.000) is refused.",
            show_default=False,
        ),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(
            metavar="CHAR",
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
    from partnerplan.config import config_dir
    from partnerplan.errors import ConfigurationError
    from partnerplan.logs import redact
    from plans.csvimport import (
        DecimalSeparator,
        delimiter_option,
        import_csv,
        validate_in_copy,
        write_atomically,
    )
    from worker.project import load_project

    separators = {s.value: s for s in DecimalSeparator}
    if decimal_separator is not None and decimal_separator not in separators:
        raise ConfigurationError(
            f"--decimal-separator {decimal_separator!r}: use . or , (the sheet's decimal mark)"
        )
    project = load_project(config_dir(config))
    result = import_csv(
        source,
        project.root / "plans",
        project.metrics,
        project.plans.plans,
        fiscal_year_start_month=project.settings.fiscal_year_start_month,
        decimal=separators[decimal_separator] if decimal_separator is not None else None,
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


def _show_plan(key: str, config: Path | None, database_url: str | None, fmt: OutputFormat) -> None:
    """One plan whole: the table form, or JSON (``plans/show.py`` gathers it, reports too)."""
    import json

    from rich.console import Console
    from sqlmodel import Session

    from partnerplan.errors import ConfigurationError
    from plans.show import plan_view
    from worker.cli.planview import print_plan
    from worker.cli.store import open_store, read_project
    from worker.trust import kind_trust

    engine = open_store(config, database_url)
    project = read_project(config)
    with Session(engine) as session:
        trust = kind_trust(session, project.mappings) if project is not None else None
        view = plan_view(session, key, catalogue(config), trust)
    if view is None:
        raise ConfigurationError(
            f"no plan {key!r} in the store; `partnerplan plans show` lists them"
        )
    if fmt is OutputFormat.table:
        print_plan(view, Console(width=140, soft_wrap=True))
    else:
        print(json.dumps(view.as_dict(), indent=2))


@plans_app.command("resolve")
def plans_resolve(
    key: Annotated[str, typer.Argument(help="The plan's key.")],
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Let config win a conflict: the next push writes the plan over the CRM's edit."""
    from plans.db import session_scope
    from plans.planstore import resolve_conflicts
    from worker.cli.store import open_store

    with session_scope(open_store(config, database_url)) as session:
        sources = resolve_conflicts(session, key)
    if not sources:
        typer.echo(f"plan {key!r} has no conflict")
        return
    typer.echo(f"plan {key!r}: config wins in {', '.join(sources)}; the next run overwrites it")


def register(app: typer.Typer) -> None:
    """Attach the plan commands to the root app."""
    app.command()(compute)
    app.add_typer(metrics_app, name="metrics")
    app.add_typer(plans_app, name="plans")
