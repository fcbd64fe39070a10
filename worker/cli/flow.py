"""Running the flow: ``run`` (in-process), ``worker``, ``enqueue run``, ``scheduler``, ``runs``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text
from sqlalchemy import select
from sqlmodel import Session, col

from partnerplan.config import config_dir
from partnerplan.errors import ConfigurationError
from plans.store import RunRow
from worker import jobs
from worker.cli.options import ConfigOption, DatabaseOption, FormatOption, OutputFormat
from worker.dispatch import InlineDispatcher
from worker.runner import RunSummary, execute_all, recover, run_once
from worker.runtime import build_context, redis_url, settle_heap

runs_app = typer.Typer(help="List runs and failures.", invoke_without_command=True)
enqueue_app = typer.Typer(help="Put work on the Redis queue.", no_args_is_help=True)


class BarObserver:
    """Draws one rich progress line per stream: records, pages, rate."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}
        self.pages: dict[str, int] = {}

    def stream_started(self, stream: str) -> None:
        """Add the stream's line."""
        self.pages[stream] = 0
        self.tasks[stream] = self.progress.add_task(stream, total=None, pages=0)

    def page(self, stream: str, records: int) -> None:
        """Advance the stream's line by one page."""
        self.pages[stream] = self.pages.get(stream, 0) + 1
        if stream in self.tasks:
            self.progress.update(self.tasks[stream], advance=records, pages=self.pages[stream])

    def stream_finished(self, stream: str, outcome: str) -> None:
        """Freeze the stream's line with its outcome."""
        if stream in self.tasks:
            self.progress.update(self.tasks[stream], description=f"{stream} [{outcome}]")
            self.progress.stop_task(self.tasks[stream])


class RateColumn(ProgressColumn):
    """Records per second of a stream."""

    def render(self, task: Task) -> Text:
        """The task's speed, or a dash before it has one."""
        speed = task.finished_speed or task.speed
        return Text(f"{speed:>9,.0f} rec/s" if speed else "        - rec/s")


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description:<28}"),
        TextColumn("{task.completed:>10,.0f} records"),
        TextColumn("{task.fields[pages]:>6} pages"),
        RateColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _summary_table(summary: RunSummary, title: str = "Run summary") -> Table:
    table = Table(title=title)
    table.add_column("run", justify="right")
    table.add_column("stage / stream")
    table.add_column("outcome")
    for column in ("pulled", "quarantined", "deleted", "API calls", "seconds"):
        table.add_column(column, justify="right")
    table.add_column("note")
    for run in summary.runs:
        seconds = (
            f"{(run.finished_at - run.started_at).total_seconds():.1f}"
            if run.finished_at and run.started_at
            else ""
        )
        what = run.stream or run.stage.replace("_progress", "").replace("_", " ")
        table.add_row(
            str(run.id),
            what,
            run.outcome,
            f"{run.records_pulled:,}",
            f"{run.records_quarantined:,}",
            f"{run.records_deleted:,}",
            f"{run.api_calls:,}",
            seconds,
            run.error or _note(run.details),
        )
    return table


def _note(details: dict[str, Any]) -> str:
    if "targets" in details:
        return f"{details['targets']} targets, {details.get('changed_targets', 0)} changed"
    if "touched_partners" in details:
        return f"{len(details['touched_partners'])} partners touched"
    if "pushed" in details:
        return f"{details['pushed']} records pushed"
    return ""


def _console() -> Console:
    # piped output (CI logs, `| less`) gets a readable width instead of rich's 80 columns
    return Console(width=None if sys.stdout.isatty() else 140)


def run(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    stream: Annotated[
        list[str] | None, typer.Option("--stream", "-s", help="Only this stream (repeatable).")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Ignore watermarks: re-pull everything.")
    ] = False,
) -> None:
    """Run the whole flow once in this process: pull, map, store, compute, push.

    Exit codes: 0 every stream complete and every record written; 1 a stream failed or stopped
    early, targets kept stale values, or the CRM rejected records (each listed); 2 bad input;
    130 interrupted (the runs it had started are marked interrupted).
    """
    console = Console(stderr=True)
    dispatcher = InlineDispatcher()
    signal.signal(signal.SIGTERM, _interrupt)
    with _progress(console) as progress:
        ctx = build_context(
            dispatcher,
            config=config,
            database_url=database_url,
            observer=BarObserver(progress),
        )
        _ensure_schema(ctx.engine)
        settle_heap()
        summary = run_once(ctx, dispatcher, streams=stream, full=full)
    _console().print(_summary_table(summary))
    for problem in summary.problems:
        console.print(f"[red]error:[/red] {problem}", markup=True, highlight=False)
    if not summary.ok:
        raise typer.Exit(1)


def _interrupt(_signum: int, _frame: object) -> None:
    """SIGTERM (a service manager stopping us) stops the run as Ctrl-C does."""
    raise KeyboardInterrupt


def _ensure_schema(engine: Any) -> None:
    from plans import migrate

    migrate.upgrade(engine)


def worker(
    config: ConfigOption = None,
    processes: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    threads: Annotated[int, typer.Option(help="Threads per process.")] = 4,
) -> None:
    """Start Dramatiq workers on Redis (needs REDIS_URL and a shared DATABASE_URL)."""
    root = config_dir(config)
    from worker.project import load_project

    project = load_project(root)
    url = redis_url(settings_url=project.settings.redis_url)
    if not url:
        raise ConfigurationError(
            "REDIS_URL is not set; workers need Redis (or use `partnerplan run` in-process)"
        )
    env = {**os.environ, "REDIS_URL": url, "PARTNERPLAN_CONFIG": str(root.resolve())}
    exe = shutil.which("dramatiq", path=str(Path(sys.executable).parent)) or "dramatiq"
    args = [
        exe,
        "worker.entry",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
        "--queues",
        "partnerplan",
    ]
    os.execvpe(exe, args, env)  # noqa: S606 - replace this process with Dramatiq's supervisor


def _broker_context(config: Path | None, database_url: str | None) -> tuple[Any, str]:
    from worker.broker import ActorSet, redis_broker
    from worker.project import load_project

    project = load_project(config_dir(config))
    url = redis_url(settings_url=project.settings.redis_url)
    if not url:
        raise ConfigurationError("REDIS_URL is not set; `enqueue` needs the Redis queue")
    broker = redis_broker(url)
    actors = ActorSet(broker, lambda d: build_context(d, config=config, database_url=database_url))
    return actors.context(), url


@enqueue_app.command("run")
def enqueue_run(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Ignore watermarks.")] = False,
) -> None:
    """Put one run (every source, or one) on the queue for the workers."""
    from plans.db import session_scope

    ctx, _url = _broker_context(config, database_url)
    _ensure_schema(ctx.engine)
    mappings = ctx.project.mappings
    sources = [source] if source else sorted({s.source for s in mappings.streams.values()})
    with session_scope(ctx.engine) as session:
        runs = [
            jobs.create(session, "sync_source", trigger="enqueue", source=s, args={"full": full})
            for s in sources
        ]
    for r in runs:
        ctx.dispatcher.send(r.stage, r.id)
    typer.echo(f"enqueued {len(runs)} source run(s): {', '.join(str(r.id) for r in runs)}")


def scheduler(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    once: Annotated[bool, typer.Option(help="Run what is due this minute, then exit.")] = False,
) -> None:
    """Start scheduled runs from settings.yaml's cron expressions (safe to start twice).

    With Redis, due slots are enqueued for the workers (one enqueue per slot, whichever
    scheduler wins it). Without Redis, this process runs them itself; a second scheduler
    waits on a lock until the first stops.
    """
    from worker import locks
    from worker.project import load_project
    from worker.scheduler import redis_claim, tick

    project = load_project(config_dir(config))
    url = redis_url(settings_url=project.settings.redis_url)
    inline: InlineDispatcher | None = None
    with ExitStack() as stack:
        if url:
            import redis as redis_lib

            ctx, _ = _broker_context(config, database_url)
            claim = redis_claim(redis_lib.Redis.from_url(url))
        else:
            inline = InlineDispatcher()
            ctx = build_context(inline, config=config, database_url=database_url)
            _ensure_schema(ctx.engine)
            stack.enter_context(locks.exclusive(ctx.engine, "scheduler", wait=True))
            claim = _always
        last = jobs.now() - timedelta(minutes=1 if once else 0)
        while True:
            current = jobs.now()
            won = tick(
                ctx.engine,
                ctx.dispatcher,
                ctx.project.mappings,
                ctx.project.settings.schedules,
                claim,
                after=last,
                until=current,
            )
            if inline is not None:
                errors: list[str] = []
                execute_all(ctx, inline, errors)
                for error in errors:
                    typer.echo(f"error: {error}", err=True)
            else:
                recover(ctx)
            if won:
                typer.echo(f"{current:%Y-%m-%d %H:%M} started {len(won)} scheduled run(s)")
            last = current
            if once:
                return
            time.sleep(max(1.0, 60 - jobs.now().second))


def _always(_key: str, _ttl: timedelta) -> bool:
    """The in-process scheduler holds the leader lock, so every slot is its own."""
    return True


@runs_app.callback()
def runs(
    ctx: typer.Context,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    limit: Annotated[int, typer.Option(help="How many runs, newest first.")] = 30,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """List recent runs: stage, stream, outcome, counts, API calls, error."""
    if ctx.invoked_subcommand is not None:
        return
    _print_runs(_load_runs(config, database_url, limit, failed=False), fmt)


@runs_app.command("failed")
def runs_failed(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 100,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The dead-letter listing: runs that failed for good, with their errors."""
    _print_runs(_load_runs(config, database_url, limit, failed=True), fmt)


def _load_runs(
    config: Path | None, database_url: str | None, limit: int, *, failed: bool
) -> list[RunRow]:
    from plans.db import make_engine
    from worker.cli.core import resolve_database_url

    engine = make_engine(resolve_database_url(config, database_url))
    query = select(RunRow).order_by(col(RunRow.id).desc()).limit(limit)
    if failed:
        query = query.where(col(RunRow.outcome) == jobs.FAILED)
    with Session(engine) as session:
        return list(session.scalars(query))


def _print_runs(rows: list[RunRow], fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    _console().print(_summary_table(RunSummary(runs=rows), title="Runs"))


def register(app: typer.Typer) -> None:
    """Attach the run commands to the root app."""
    app.command()(run)
    app.command()(worker)
    app.command()(scheduler)
    app.add_typer(enqueue_app, name="enqueue")
    app.add_typer(runs_app, name="runs")
