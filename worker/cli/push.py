"""Write-back commands: ``push [--dry-run]``, ``push errors`` and ``crm setup SOURCE``."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from worker.cli.options import ConfigOption, DatabaseOption, FormatOption, OutputFormat

push_app = typer.Typer(
    help="Write changed plan progress back to the CRMs.", invoke_without_command=True
)
crm_app = typer.Typer(help="Prepare the CRMs for write-back.", no_args_is_help=True)
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
]


def _show(value: Any) -> str:
    return "(none)" if value is None else str(value)


def dry_run_report(plans: list[Any]) -> dict[str, Any]:
    """Per destination: calls it would make and, per partner and record, field old → new."""
    from writeback.payloads import ASSOCIATED, plain

    out: dict[str, Any] = {}
    for dest in plans:
        partners: dict[str, list[dict[str, Any]]] = {}
        for item in dest.send:
            state = dest.states.get(item.record_key)
            old = dict(state.pushed) if state is not None and state.fingerprint else {}
            old.pop(ASSOCIATED, None)
            changes = {
                name: {"old": old.get(name), "new": plain(value)}
                for name, value in item.record.items()
                if old.get(name) != plain(value)
            }
            partners.setdefault(item.partner_key, []).append(
                {"record": item.record_key, "part": item.part, "changes": changes}
            )
        out[dest.name] = {
            "records": len(dest.send),
            "write_calls": dest.write_calls(),
            "check_calls": dest.check_calls(),
            "association_calls": dest.association_calls(),
            "api_calls": dest.write_calls() + dest.check_calls() + dest.association_calls(),
            "waiting_for_retry": dest.waiting,
            "unlinked_targets": dest.unlinked,
            "partners": partners,
        }
    return out


def _dry_run_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The dry run as one row per field that would change (what CSV prints)."""
    rows = []
    for name, dest in report.items():
        for partner, records in sorted(dest["partners"].items()):
            for record in records:
                for field_name, change in record["changes"].items():
                    rows.append(
                        {
                            "destination": name,
                            "partner": partner,
                            "record": record["record"],
                            "part": record["part"],
                            "field": field_name,
                            "old": change["old"],
                            "new": change["new"],
                        }
                    )
    return rows


def _print_dry_run(report: dict[str, Any]) -> None:
    for name, dest in report.items():
        typer.echo(
            f"{name}: {dest['records']} record(s) would be written in {dest['api_calls']} API "
            f"call(s) ({dest['write_calls']} write, {dest['check_calls']} field check, "
            f"{dest['association_calls']} association); "
            f"{dest['waiting_for_retry']} waiting for retry, "
            f"{dest['unlinked_targets']} target(s) of partners not in this CRM"
        )
        for partner, records in sorted(dest["partners"].items()):
            typer.echo(f"  {partner}")
            for record in records:
                typer.echo(f"    {record['record']} ({record['part']})")
                for field_name, change in record["changes"].items():
                    typer.echo(
                        f"      {field_name}: {_show(change['old'])} → {_show(change['new'])}"
                    )


@push_app.callback()
def push(
    ctx: typer.Context,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    dry_run: DryRunOption = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Push progress that changed since the last successful push (diff-only)."""
    if ctx.invoked_subcommand is not None:
        return
    from sqlmodel import Session

    from plans import migrate
    from plans.db import session_scope
    from plans.store import RunRow
    from worker import jobs
    from worker.cli.output import emit
    from worker.dispatch import InlineDispatcher
    from worker.pipeline import execute, labels, units
    from worker.runtime import build_context
    from writeback.planpush import Publication
    from writeback.push import plan

    context = build_context(InlineDispatcher(), config=config, database_url=database_url)
    migrate.upgrade(context.engine)
    project = context.project
    if dry_run:
        with Session(context.engine) as session:
            kinds = project.settings.kinds()
            publication = Publication(
                session, project.writeback, kinds, context.connector, units(project), jobs.now()
            )
            publication.prepare()  # the targets' places in their plans go with their values
            plans = plan(
                session,
                project.writeback,
                kinds,
                labels(project),
                jobs.now(),
                placement=publication.placement,
            )
            report = dry_run_report(plans)
        if fmt is OutputFormat.json:
            typer.echo(json.dumps(report, indent=2, default=str))
        elif fmt is OutputFormat.csv:
            columns = ["destination", "partner", "record", "part", "field", "old", "new"]
            emit(_dry_run_rows(report), columns, fmt)
        else:
            _print_dry_run(report)
        return
    with session_scope(context.engine) as session:
        run = jobs.create(session, "push_progress", trigger="cli")
        run_id = run.id
    assert run_id is not None
    outcome = execute(context, "push_progress", run_id)
    with Session(context.engine) as session:
        row = session.get(RunRow, run_id)
        details = row.details if row is not None else {}
        error = row.error if row is not None else None
    if fmt is OutputFormat.json:
        typer.echo(json.dumps({"outcome": outcome, "error": error, **details}, default=str))
    elif fmt is OutputFormat.csv:
        rows = [
            {"destination": name, **dest}
            for name, dest in details.items()
            if isinstance(dest, dict) and "sent" in dest
        ]
        columns = ["destination", "sent", "landed", "failed", "waiting", "write_calls"]
        emit(rows, columns, fmt)
    else:
        for name, dest in details.items():
            if isinstance(dest, dict) and "sent" in dest:
                typer.echo(
                    f"{name}: {dest['landed']} landed, {dest['failed']} rejected, "
                    f"{dest['waiting']} waiting for retry, {dest['write_calls']} write call(s)"
                )
        typer.echo(f"push {outcome}" + (f": {error}" if error else ""))
    if outcome not in (jobs.SUCCEEDED, jobs.SKIPPED):
        raise typer.Exit(1)


@push_app.command("errors")
def push_errors(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Records a CRM rejected: its message, attempts and when it is retried."""
    from sqlalchemy import select
    from sqlmodel import Session, col

    from plans.store import PushStateRow
    from worker.cli.output import Column, emit
    from worker.cli.store import open_store

    engine = open_store(config, database_url)
    query = (
        select(PushStateRow)
        .where(col(PushStateRow.last_error).is_not(None))
        .order_by(col(PushStateRow.destination), col(PushStateRow.record_key))
    )
    with Session(engine) as session:
        rows = list(session.scalars(query))
    listing: list[dict[str, Any]] = [
        {
            "destination": r.destination,
            "record": r.record_key,
            "attempts": r.attempts,
            "next_attempt_at": r.next_attempt_at,
            "error": r.last_error,
        }
        for r in rows
    ]
    if fmt is OutputFormat.table and not listing:
        typer.echo("no rejected records")
        return
    columns: list[Column | str] = [
        "destination",
        "record",
        Column("attempts", right=True),
        Column("next_attempt_at", "next attempt"),
        "error",
    ]
    emit(listing, columns, fmt, title="Rejected records")


def wanted(project: Any, source: str) -> list[Any]:
    """What ``writeback.yaml`` writes to ``source``, in the CRM-neutral terms setup takes."""
    from connectors.crms import REGISTRY
    from connectors.setup import WantedObject, WantedProperty
    from partnerplan.errors import ConfigurationError
    from writeback.config import PROGRESS_FIELDS, ROLLUP_FIELDS
    from writeback.manifest import load_manifest
    from writeback.planwant import merged, wanted_plan_objects

    dest = project.writeback.destinations.get(source)
    if dest is None:
        raise ConfigurationError(
            f"writeback.yaml has no destination {source!r}; add it, or name another source"
        )
    out: list[WantedObject] = []
    if dest.progress is not None:
        part = dest.progress
        props = [WantedProperty(part.key_field, "text", "Progress key", unique=True)]
        props += [
            WantedProperty(t.field, PROGRESS_FIELDS[name]) for name, t in part.targets().items()
        ]
        linked = bool(part.associate or part.partner_field)
        out.append(WantedObject(part.object, tuple(props), True, linked, "Partner plan progress"))
    if dest.rollup is not None:
        part_r = dest.rollup
        props = [WantedProperty(t.field, ROLLUP_FIELDS[n]) for n, t in part_r.targets().items()]
        out.append(WantedObject(part_r.object, tuple(props)))
    manifest = REGISTRY.dialect(project.settings.sources[source].type).plan_manifest
    if dest.plans is not None and manifest is not None:
        out = merged(out + wanted_plan_objects(load_manifest(manifest)))
    return out


def setup(
    source: Annotated[str, typer.Argument(help="The source in settings.yaml to set up.")],
    config: ConfigOption = None,
    dry_run: DryRunOption = False,
) -> None:
    """Create the fields and objects write-back needs in a source's CRM (idempotent)."""
    from connectors.crms import REGISTRY
    from partnerplan.config import config_dir
    from partnerplan.errors import ConfigurationError
    from worker.project import load_project

    project = load_project(config_dir(config))
    settings = project.settings.sources.get(source)
    if settings is None:
        known = ", ".join(sorted(project.settings.sources)) or "none"
        raise ConfigurationError(f"no source {source!r} in settings.yaml; sources: {known}")
    crm = REGISTRY.get(settings.type)
    if crm.setup is None:
        typer.echo(f"{source}: {crm.setup_hint}")
        return
    runner = crm.setup(source, settings)
    steps = runner.plan(wanted(project, source))
    if not steps:
        typer.echo(f"{source}: nothing to do; every field and object exists")
        return
    for step in steps:
        typer.echo(("would " if dry_run else "") + step.describe())
    if not dry_run:
        runner.apply(steps, lambda _line: None)
        typer.echo(f"{source}: {len(steps)} change(s) applied")


def register(app: typer.Typer) -> None:
    """Attach the write-back commands to the root app."""
    app.add_typer(push_app, name="push")
    crm_app.command("setup")(setup)
    app.add_typer(crm_app, name="crm")
