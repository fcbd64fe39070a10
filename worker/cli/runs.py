"""The run history: ``runs`` (one line per invocation), ``runs show ID`` and ``runs failed``.

One ``partnerplan run`` or one scheduler slot starts many runs (a sync per stream, a compute,
a push); ``runs`` groups them back into the invocation that started them (the ``invocation``
in each run's details, else the run's root through ``parent_id``) and shows when it started,
how long it took, what triggered it and how it ended. ``runs show ID`` lists the runs of the
invocation that holds run ID, as the summary of ``partnerplan run`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from worker.cli.options import (
    ConfigOption,
    DatabaseOption,
    FormatOption,
    LimitOption,
    OutputFormat,
)

if TYPE_CHECKING:
    from plans.store import RunRow
    from worker.runner import RunSummary

runs_app = typer.Typer(
    help="The run history: one line per invocation; `runs show ID`; `runs failed`.",
    invoke_without_command=True,
)


def _seconds(run: RunRow) -> float | None:
    if run.started_at is None or run.finished_at is None:
        return None
    return (run.finished_at - run.started_at).total_seconds()


def api_calls(run: RunRow) -> int:
    """Calls the run made: its own count, or for a push the write calls of each destination."""
    from worker.metrics import push_reports

    pushed = sum(int(report.get("write_calls", 0)) for _, report in push_reports(run.details))
    return run.api_calls + pushed


def records(run: RunRow) -> int:
    """Records the run moved: pulled by a sync, landed in the CRM by a push."""
    from worker.metrics import push_reports

    landed = sum(int(report.get("landed", 0)) for _, report in push_reports(run.details))
    return run.records_pulled + landed


def note(run: RunRow) -> str:
    """The run's error, or what it did in a few words."""
    if run.error:
        return run.error
    details = run.details
    if "targets" in details:
        return f"{details['targets']} targets, {details.get('changed_targets', 0)} changed"
    if "touched_partners" in details:
        return f"{len(details['touched_partners'])} partners touched"
    pushed = [
        f"{name}: {report.get('landed', 0)} landed, {report.get('failed', 0)} rejected"
        for name, report in _reports(run)
    ]
    if pushed:
        return "; ".join(pushed)
    if "streams" in details:
        return f"{details['streams']} streams"
    return str(details.get("reason", ""))


def _reports(run: RunRow) -> list[tuple[str, dict[str, Any]]]:
    from worker.metrics import push_reports

    return list(push_reports(run.details))


def run_row(run: RunRow) -> dict[str, Any]:
    """One run as a listing row (JSON and CSV read these keys)."""
    from worker.verdict import shown

    return {
        "run": run.id,
        "stage": run.stage,
        "source": run.source,
        "stream": run.stream,
        "trigger": run.trigger,
        "outcome": shown(run),
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "seconds": _seconds(run),
        "records": records(run),
        "quarantined": run.records_quarantined,
        "deleted": run.records_deleted,
        "api_calls": api_calls(run),
        "attempts": run.attempts,
        "error": run.error,
        "note": note(run),
    }


def _cells(row: dict[str, Any]) -> list[str]:
    what = row["stream"] or str(row["stage"]).replace("_progress", "").replace("_", " ")
    outcome = str(row["outcome"])
    style = {"failed": "red", "incomplete": "yellow", "succeeded with warnings": "yellow"}
    colour = style.get(outcome)
    seconds = "" if row["seconds"] is None else f"{row['seconds']:.1f}"
    return [
        str(row["run"]),
        what,
        f"[{colour}]{outcome}[/]" if colour else outcome,
        f"{row['records']:,}",
        f"{row['quarantined']:,}",
        f"{row['deleted']:,}",
        f"{row['api_calls']:,}",
        seconds,
        _escape(row["note"]),
    ]


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def show_runs(runs: Sequence[RunRow], fmt: OutputFormat, title: str) -> None:
    """Print runs as the summary of ``partnerplan run`` does (or as JSON / CSV)."""
    from worker.cli.output import Column, emit

    rows = [run_row(run) for run in runs]
    columns = [
        Column("run", right=True),
        Column("stream", "stage / stream"),
        Column("outcome"),
        Column("records", right=True),
        Column("quarantined", right=True),
        Column("deleted", right=True),
        Column("api_calls", "API calls", right=True),
        Column("seconds", right=True),
        Column("note"),
    ]
    emit(rows, columns, fmt, title=title, cells=[_cells(row) for row in rows])


def print_summary(summary: RunSummary) -> None:
    """The table ``partnerplan run`` ends with."""
    show_runs(summary.runs, OutputFormat.table, "Run summary")


@dataclass
class Invocation:
    """The runs one invocation (a ``partnerplan run``, a scheduler slot, ...) started."""

    key: str
    runs: list[RunRow] = field(default_factory=list)

    @property
    def first(self) -> RunRow:
        """Its oldest run."""
        return min(self.runs, key=lambda r: r.id or 0)

    def row(self) -> dict[str, Any]:
        """The invocation as one listing row."""
        from worker import jobs
        from worker.verdict import shown

        started = [t for r in self.runs if (t := r.started_at or r.created_at) is not None]
        finished = [r.finished_at for r in self.runs if r.finished_at is not None]
        begin: datetime | None = min(started) if started else None
        end: datetime | None = max(finished) if finished else None
        done = all(r.outcome in jobs.FINISHED for r in self.runs)
        counts: dict[str, int] = {}
        for run in self.runs:
            counts[shown(run)] = counts.get(shown(run), 0) + 1
        return {
            "invocation": self.first.id,
            "trigger": self.first.trigger,
            "started_at": begin,
            "finished_at": end if done else None,
            "seconds": (end - begin).total_seconds() if done and begin and end else None,
            "runs": len(self.runs),
            "outcomes": counts,
            "records": sum(records(r) for r in self.runs),
            "quarantined": sum(r.records_quarantined for r in self.runs),
            "api_calls": sum(api_calls(r) for r in self.runs),
            "errors": [f"{r.stream or r.stage} #{r.id}: {r.error}" for r in self.runs if r.error],
        }


def group(runs: Sequence[RunRow]) -> list[Invocation]:
    """Runs grouped by invocation, newest invocation first."""
    by_id = {r.id: r for r in runs}

    def key(run: RunRow) -> str:
        seen: set[int | None] = set()
        while True:
            invocation = run.details.get("invocation")
            if invocation:
                return str(invocation)
            parent = by_id.get(run.parent_id) if run.parent_id is not None else None
            if parent is None or parent.id in seen:
                return f"run:{run.id}"
            seen.add(run.id)
            run = parent

    groups: dict[str, Invocation] = {}
    for run in sorted(runs, key=lambda r: r.id or 0):
        groups.setdefault(key(run), Invocation(key(run))).runs.append(run)
    return sorted(groups.values(), key=lambda g: g.first.id or 0, reverse=True)


def _engine(config: Path | None, database_url: str | None) -> Any:
    from worker.cli.store import open_store

    return open_store(config, database_url)


def _recent_runs(engine: Any, invocations: int) -> list[RunRow]:
    """Enough recent runs to hold the ``invocations`` newest invocations whole."""
    from sqlalchemy import select
    from sqlmodel import Session, col

    from plans.store import RunRow

    budget = max(200, invocations * 60)
    with Session(engine) as session:
        query = select(RunRow).order_by(col(RunRow.id).desc()).limit(budget)
        return list(session.scalars(query))


def _local(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "running"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{seconds:.1f} s"


@runs_app.callback()
def runs(
    ctx: typer.Context,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    limit: LimitOption = 20,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """List recent invocations: start, duration, trigger, runs and their outcomes, counts."""
    if ctx.invoked_subcommand is not None:
        return
    from worker.cli.output import Column, emit

    invocations = group(_recent_runs(_engine(config, database_url), limit))[:limit]
    rows = [inv.row() for inv in invocations]
    columns = [
        Column("invocation", "id", right=True),
        Column("started_at", "started"),
        Column("seconds", "duration", right=True),
        Column("trigger"),
        Column("runs", right=True),
        Column("outcomes"),
        Column("records", right=True),
        Column("quarantined", right=True),
        Column("api_calls", "API calls", right=True),
    ]
    cells = [
        [
            str(row["invocation"]),
            _local(row["started_at"]),
            _duration(row["seconds"]),
            _escape(row["trigger"]),
            str(row["runs"]),
            ", ".join(f"{n} {outcome}" for outcome, n in sorted(row["outcomes"].items())),
            f"{row['records']:,}",
            f"{row['quarantined']:,}",
            f"{row['api_calls']:,}",
        ]
        for row in rows
    ]
    footer = "`partnerplan runs show ID` lists the runs of one invocation; times are local."
    emit(rows, columns, fmt, title="Runs", cells=cells, footer=footer if rows else None)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[int, typer.Argument(metavar="ID", help="Any run of the invocation.")],
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The runs of one invocation, with counts, durations and errors."""
    from partnerplan.errors import ConfigurationError

    engine = _engine(config, database_url)
    for invocation in group(_window(engine, run_id)):
        if any(r.id == run_id for r in invocation.runs):
            row = invocation.row()
            title = (
                f"Invocation {row['invocation']}: {row['trigger']}, started "
                f"{_local(row['started_at'])}, {_duration(row['seconds'])}"
            )
            show_runs(sorted(invocation.runs, key=lambda r: r.id or 0), fmt, title)
            return
    raise ConfigurationError(f"no run {run_id} in the store; `partnerplan runs` lists them")


def _window(engine: Any, run_id: int) -> list[RunRow]:
    """The runs around ``run_id``: an invocation's runs are created close together."""
    from sqlalchemy import select
    from sqlmodel import Session, col

    from plans.store import RunRow

    with Session(engine) as session:
        query = select(RunRow).where(col(RunRow.id).between(run_id - 500, run_id + 500))
        return list(session.scalars(query))


@runs_app.command("failed")
def runs_failed(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    limit: LimitOption = 100,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The dead-letter listing: runs that failed for good, with their errors."""
    from sqlalchemy import select
    from sqlmodel import Session, col

    from plans.store import RunRow
    from worker import jobs

    query = (
        select(RunRow)
        .where(col(RunRow.outcome) == jobs.FAILED)
        .order_by(col(RunRow.id).desc())
        .limit(limit)
    )
    with Session(_engine(config, database_url)) as session:
        rows = list(session.scalars(query))
    show_runs(rows, fmt, "Failed runs")


def register(app: typer.Typer) -> None:
    """Attach the run history to the root app."""
    app.add_typer(runs_app, name="runs")
