"""Mapping commands: ``mappings test``, ``quarantine list`` and ``quarantine retry``.

``mappings test`` needs no database and no CRM credentials: it maps records from a JSON file,
so sales ops can try a mapping change on the records that troubled them before a sync runs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlmodel import Session, col

from mappings.activity import Activity, Rejection, json_safe
from mappings.loader import load_mappings
from partnerplan.config import config_dir
from partnerplan.errors import ConfigProblems, ConfigurationError
from plans.db import make_engine, session_scope
from plans.ingest import resolve_partners, retry_quarantine
from plans.store import QuarantineRow
from worker.cli.options import ConfigOption, DatabaseOption, FormatOption, OutputFormat

mappings_app = typer.Typer(help="Try mappings on sample records.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Records that could not be mapped.", no_args_is_help=True)
StreamOption = Annotated[str | None, typer.Option("--stream", "-s", help="Only this stream.")]


def read_sample(path: Path) -> list[dict[str, Any]]:
    """Raw records from a JSON file: a list, or a CRM response with ``records``/``results``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read the sample ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); a sample is a JSON list of "
            "records or a CRM response with `records` / `results`"
        ) from None
    if isinstance(data, dict):
        data = data.get("records", data.get("results", [data]))
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ConfigurationError(f"{path}: a sample is a JSON list of record objects")
    return data


def _activity_json(item: Activity) -> dict[str, Any]:
    row = {k: json_safe(v) for k, v in item.as_row().items()}
    row["attributes"] = item.attributes
    return row


def _print_table(results: list[Activity | Rejection]) -> None:
    console = Console(width=200)
    activities = [r for r in results if isinstance(r, Activity)]
    failures = [r for r in results if isinstance(r, Rejection)]
    if activities:
        table = Table(title="activities")
        for column in ("record_id", "kind", "partner_ref", "status", "amount", "currency"):
            table.add_column(column)
        table.add_column("occurred_on")
        table.add_column("attributes", overflow="fold")
        for a in activities:
            attributes = ", ".join(f"{k}={v}" for k, v in a.attributes.items() if v is not None)
            amount = "" if a.amount is None else str(a.amount)
            table.add_row(
                a.record_id,
                a.kind,
                a.partner_ref or "",
                a.status or "",
                amount,
                a.currency or "",
                "" if a.occurred_on is None else a.occurred_on.isoformat(),
                attributes + (" (deleted)" if a.deleted else ""),
            )
        console.print(table)
    if failures:
        table = Table(title="quarantined")
        for column in ("record_id", "field", "reason"):
            table.add_column(column, overflow="fold")
        for f in failures:
            table.add_row(f.record_id, f.field or "", f.reason)
        console.print(table)
    console.print(f"{len(activities)} mapped, {len(failures)} quarantined")


@mappings_app.command("test")
def mappings_test(
    stream: Annotated[str, typer.Argument(help="The stream to map with, e.g. sf_opportunities.")],
    sample: Annotated[Path, typer.Option("--sample", help="JSON file of raw CRM records.")],
    config: ConfigOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Map sample records and show the activities and each failure with its reason.

    Exits 1 when any record would be quarantined, so a script can check a sample maps cleanly.
    """
    mappings, problems = load_mappings(config_dir(config) / "mappings")
    if mappings is None:
        raise ConfigProblems(problems)
    err = Console(stderr=True)
    for warning in problems:
        err.print(warning.render(), markup=False, highlight=False)
    compiled = mappings.stream(stream)
    results = list(compiled.map_many(read_sample(sample)))
    if fmt is OutputFormat.json:
        payload = {
            "activities": [_activity_json(r) for r in results if isinstance(r, Activity)],
            "quarantined": [
                {"record_id": r.record_id, "field": r.field, "reason": r.reason}
                for r in results
                if isinstance(r, Rejection)
            ],
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        _print_table(results)
    if any(isinstance(r, Rejection) for r in results):
        raise typer.Exit(1)


def _engine(config: Path | None, database_url: str | None) -> Any:
    from worker.cli.core import resolve_database_url

    return make_engine(resolve_database_url(config, database_url))


@quarantine_app.command("list")
def quarantine_list(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    stream: StreamOption = None,
    include_resolved: Annotated[
        bool, typer.Option("--all", help="Include records that have since mapped.")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """List quarantined records with the field and the reason each failed."""
    query = select(QuarantineRow).order_by(col(QuarantineRow.stream), col(QuarantineRow.id))
    if stream is not None:
        query = query.where(col(QuarantineRow.stream) == stream)
    if not include_resolved:
        query = query.where(col(QuarantineRow.resolved_at).is_(None))
    with Session(_engine(config, database_url)) as session:
        rows = list(session.scalars(query))
    if fmt is OutputFormat.json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    table = Table(title="quarantine")
    for column in ("stream", "record_id", "field", "reason", "attempts", "last seen", "resolved"):
        table.add_column(column, overflow="fold")
    for r in rows:
        seen = "" if r.last_seen_at is None else r.last_seen_at.isoformat(timespec="seconds")
        resolved = "" if r.resolved_at is None else r.resolved_at.isoformat(timespec="seconds")
        table.add_row(
            r.stream, r.record_id, r.field or "", r.reason, str(r.attempts), seen, resolved
        )
    console = Console(width=200)
    console.print(table)
    console.print(f"{len(rows)} records")


@quarantine_app.command("retry")
def quarantine_retry(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    stream: StreamOption = None,
) -> None:
    """Re-map quarantined records with the current mappings; store them and recompute plans.

    The recompute matters: the CRM did not change, so the next `partnerplan run` would see
    nothing new and leave the affected plans as they were until the daily recompute.
    """
    from worker import jobs
    from worker.cli.core import resolve_database_url
    from worker.dispatch import InlineDispatcher
    from worker.project import load_project
    from worker.runner import execute_all
    from worker.runtime import build_context

    project = load_project(config_dir(config))
    url = resolve_database_url(config, database_url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        result, missing = retry_quarantine(session, project.mappings, datetime.now(UTC), stream)
        partners = {p for p, _ in result.touched if p is not None} | resolve_partners(session)
        compute = None
        if partners:  # created with the stored records, so a crash cannot lose the recompute
            compute = jobs.create(
                session,
                "compute_progress",
                trigger="quarantine-retry",
                args={"partner_ids": sorted(partners), "chain": True},
            )
    console = Console()
    console.print(
        f"{result.resolved} records mapped and stored, {result.quarantined} still quarantined"
    )
    for name in missing:
        console.print(f"stream {name!r} is no longer mapped; its records stay in quarantine")
    if compute is not None and compute.id is not None:
        dispatcher = InlineDispatcher()
        ctx = build_context(dispatcher, config=config, database_url=url)
        dispatcher.send(compute.stage, compute.id)
        errors: list[str] = []
        execute_all(ctx, dispatcher, errors)
        for error in errors:
            console.print(f"error: {error}", markup=False)
        if errors:
            raise typer.Exit(1)
        console.print(f"recomputed the plans of {len(partners)} partners")
    if result.quarantined:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach the mapping and quarantine commands to the root app."""
    app.add_typer(mappings_app, name="mappings")
    app.add_typer(quarantine_app, name="quarantine")
