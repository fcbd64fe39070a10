"""Mapping commands: ``mappings test``, ``quarantine list`` and ``quarantine retry``.

``mappings test`` needs no database and no CRM credentials: it maps records from a JSON file,
so sales ops can try a mapping change on the records that troubled them before a sync runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from worker.cli.options import (
    ConfigOption,
    DatabaseOption,
    FormatOption,
    OutputFormat,
    StreamOption,
)

if TYPE_CHECKING:
    from mappings.activity import Activity, Rejection

mappings_app = typer.Typer(help="Try mappings on sample records.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Records that could not be mapped.", no_args_is_help=True)


def read_sample(path: Path) -> list[dict[str, Any]]:
    """Raw records from a JSON file: a list, or a CRM response with ``records``/``results``."""
    from partnerplan.errors import ConfigurationError

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
    from mappings.activity import json_safe

    row = {k: json_safe(v) for k, v in item.as_row().items()}
    row["attributes"] = item.attributes
    return row


def _print(results: list[Activity | Rejection], fmt: OutputFormat) -> None:
    """The mapped activities and the quarantined records (table, JSON or CSV)."""
    from mappings.activity import Activity, Rejection
    from worker.cli.output import emit

    activities = [_activity_json(r) for r in results if isinstance(r, Activity)]
    failures = [
        {"record_id": r.record_id, "field": r.field, "reason": r.reason}
        for r in results
        if isinstance(r, Rejection)
    ]
    if fmt is OutputFormat.json:
        typer.echo(json.dumps({"activities": activities, "quarantined": failures}, indent=2))
        return
    columns = ["record_id", "kind", "partner_ref", "status", "amount", "currency", "occurred_on"]
    if fmt is OutputFormat.csv:  # one listing: mapped rows, then quarantined ones
        rows = [{**a, "result": "mapped"} for a in activities]
        rows += [{**f, "result": "quarantined"} for f in failures]
        emit(rows, ["result", *columns, "attributes", "field", "reason"], fmt)
        return
    if activities:
        emit(activities, [*columns, "attributes"], fmt, title="activities")
    if failures:
        emit(failures, ["record_id", "field", "reason"], fmt, title="quarantined")
    typer.echo(f"{len(activities)} mapped, {len(failures)} quarantined")


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
    from mappings.activity import Rejection
    from mappings.loader import load_mappings
    from partnerplan.config import config_dir
    from partnerplan.errors import ConfigProblems

    mappings, problems = load_mappings(config_dir(config) / "mappings")
    if mappings is None:
        raise ConfigProblems(problems)
    for warning in problems:
        typer.echo(warning.render(), err=True)
    compiled = mappings.stream(stream)
    results = list(compiled.map_many(read_sample(sample)))
    _print(results, fmt)
    if any(isinstance(r, Rejection) for r in results):
        raise typer.Exit(1)


def _engine(config: Path | None, database_url: str | None) -> Any:
    from worker.cli.store import open_store

    return open_store(config, database_url)


@quarantine_app.command("list")
def quarantine_list(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    stream: StreamOption = None,
    include_resolved: Annotated[
        bool, typer.Option("--all", help="Include records that have since mapped.")
    ] = False,
    records: Annotated[
        bool, typer.Option("--records", help="One line per record instead of per reason.")
    ] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Quarantined records grouped by stream, field and reason, with counts and examples."""
    from sqlalchemy import select
    from sqlmodel import Session, col

    from plans.store import QuarantineRow
    from worker.cli.output import Column, emit

    query = select(QuarantineRow).order_by(col(QuarantineRow.stream), col(QuarantineRow.id))
    if stream is not None:
        query = query.where(col(QuarantineRow.stream) == stream)
    if not include_resolved:
        query = query.where(col(QuarantineRow.resolved_at).is_(None))
    with Session(_engine(config, database_url)) as session:
        rows = list(session.scalars(query))
    if records:
        listing = [r.model_dump(mode="json") for r in rows]
        columns = ["stream", "record_id", "field", "reason", "attempts", "last_seen_at"]
        emit(
            listing,
            [*columns, "resolved_at"],
            fmt,
            title="quarantine",
            footer=f"{len(rows)} records",
        )
        return
    groups: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r.source, r.stream, r.field or "", r.reason)
        entry = groups.setdefault(
            key,
            {
                "source": r.source,
                "stream": r.stream,
                "field": r.field or "",
                "reason": r.reason,
                "records": 0,
                "examples": [],
                "last_seen_at": r.last_seen_at,
            },
        )
        entry["records"] += 1
        if len(entry["examples"]) < 3:
            entry["examples"].append(r.record_id)
        if r.last_seen_at and (not entry["last_seen_at"] or r.last_seen_at > entry["last_seen_at"]):
            entry["last_seen_at"] = r.last_seen_at
    listing = sorted(groups.values(), key=lambda g: (-g["records"], g["stream"], g["reason"]))
    if fmt is OutputFormat.table and not listing:
        typer.echo("no quarantined records")
        return
    grouped: list[Column | str] = [
        "stream",
        "field",
        "reason",
        Column("records", right=True),
        "examples",
        Column("last_seen_at", "last seen"),
    ]
    footer = (
        f"{len(rows)} records in {len(listing)} group(s); `--records` lists them one by one; "
        "fix the mapping, then `partnerplan quarantine retry`"
    )
    emit(listing, grouped, fmt, title="quarantine by reason", footer=footer if rows else None)


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
    from datetime import UTC, datetime

    from rich.console import Console

    from partnerplan.config import config_dir
    from plans.db import make_engine, session_scope
    from plans.ingest import resolve_partners, retry_quarantine
    from worker import jobs
    from worker.cli.store import database_url as resolve
    from worker.dispatch import InlineDispatcher
    from worker.project import load_project
    from worker.runner import execute_all
    from worker.runtime import build_context

    project = load_project(config_dir(config))
    url = resolve(config, database_url)
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
