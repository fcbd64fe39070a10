"""Running the flow: ``run`` (in-process), ``worker``, ``enqueue run`` and ``scheduler``."""

from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from worker.cli.options import ConfigOption, DatabaseOption, StreamsOption

if TYPE_CHECKING:
    from worker.pipeline import Context
    from worker.preflight import SourceCheck

enqueue_app = typer.Typer(help="Put work on the Redis queue.", no_args_is_help=True)
MetricsPortOption = Annotated[
    int | None,
    typer.Option(
        "--metrics-port",
        metavar="PORT",
        help="Serve /metrics and /healthz here (default: $PARTNERPLAN_METRICS_PORT, "
        "settings.yaml's metrics_port, else 9191 for workers and 9192 for the scheduler).",
        show_default=False,
    ),
]
NoMetricsOption = Annotated[
    bool, typer.Option("--no-metrics", help="Serve no /metrics and /healthz.")
]


def run(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    stream: StreamsOption = None,
    full: Annotated[
        bool, typer.Option("--full", help="Ignore watermarks: re-pull everything.")
    ] = False,
    preflight: Annotated[
        bool,
        typer.Option(
            "--preflight/--no-preflight",
            help="First check that each source resolves, answers over TLS and accepts the login.",
        ),
    ] = True,
) -> None:
    """Run the whole flow once in this process: pull, map, store, compute, push.

    Streams sync concurrently, up to each source's `concurrent_streams` at once (settings.yaml),
    partner streams first; compute and push run once, after every stream.

    Exits 0 when every stream completed and every record was written (quarantined records
    below the allowed share are shown as warnings); 1 when a source failed its preflight, a
    stream failed or stopped early, targets kept their last good values (stale), or the CRM
    rejected records, each listed; 2 on bad input; 130 when interrupted (Ctrl-C, SIGTERM: the
    runs it had started are marked interrupted).
    """
    from rich.console import Console

    from worker import jobs
    from worker.cli.progress import observer_for, progress_bars
    from worker.cli.runs import print_summary
    from worker.dispatch import InlineDispatcher
    from worker.runner import run_once
    from worker.runtime import build_context, settle_heap

    console = Console(stderr=True)
    dispatcher = InlineDispatcher()
    signal.signal(signal.SIGTERM, _interrupt)
    with progress_bars(console) as progress:
        observer = observer_for(progress)
        ctx = build_context(
            dispatcher,
            config=config,
            database_url=database_url,
            observer=observer,
            show_retry=lambda attempt, wait, error: observer.retry(attempt, wait, str(error)),
        )
        _ensure_schema(ctx.engine)
        chosen = list(stream or ctx.project.mappings.ordered())
        failed = _preflight(ctx, chosen) if preflight else []
        down = {check.source for check in failed}
        chosen = [s for s in chosen if ctx.project.mappings.streams[s].source not in down]
        settle_heap()
        jobs.INVOCATION.set(f"cli:{os.getpid()}:{jobs.now().isoformat()}")  # one `runs` line
        summary = run_once(ctx, dispatcher, streams=chosen, full=full) if chosen else None
    if summary is not None:
        print_summary(summary)
    # the reasons belong to the summary (stdout): stderr carries log lines only
    for check in failed:
        say = f"error: source {check.source!r} failed its preflight ({check.failed_step}): "
        typer.echo(say + (check.error or ""))
    # failed or incomplete streams, stale targets, rejected writes: each with its reason
    for problem in summary.problems if summary is not None else []:
        typer.echo(f"error: {problem}")
    if any(check.bad_config for check in failed):
        raise typer.Exit(2)
    if failed or summary is None or not summary.ok:
        raise typer.Exit(1)


def _interrupt(_signum: int, _frame: object) -> None:
    """SIGTERM (a service manager stopping us) stops the run as Ctrl-C does."""
    raise KeyboardInterrupt


def _preflight(ctx: Context, streams: list[str]) -> list[SourceCheck]:
    """The sources of ``streams`` that fail their preflight (an unknown stream fails later)."""
    from worker.preflight import preflight

    mapped = ctx.project.mappings.streams
    sources = sorted({mapped[s].source for s in streams if s in mapped})
    return [check for check in preflight(ctx.project, sources) if not check.ok]


def _ensure_schema(engine: Any) -> None:
    from plans import migrate

    migrate.upgrade(engine)


def metrics_dir() -> str:
    """A fresh private directory where the worker processes share their live counters."""
    import tempfile

    return tempfile.mkdtemp(prefix="partnerplan-metrics-")


def worker(
    ctx: typer.Context,
    config: ConfigOption = None,
    processes: Annotated[int, typer.Option(metavar="N", help="Worker processes.", min=1)] = 2,
    threads: Annotated[int, typer.Option(metavar="N", help="Threads per process.", min=1)] = 4,
    metrics_port: MetricsPortOption = None,
    no_metrics: NoMetricsOption = False,
) -> None:
    """Start Dramatiq workers on Redis (needs REDIS_URL and a shared DATABASE_URL).

    Each thread runs one stream at a time; a process syncs at most a source's
    `concurrent_streams` of that source at once (settings.yaml).

    Logs (Dramatiq's own included) go through partnerplan's logging at --log-level; /metrics
    and /healthz are served on --metrics-port by a process Dramatiq forks for them.
    """
    from partnerplan.config import config_dir, unset_variables_blank
    from partnerplan.errors import ConfigurationError
    from worker.health import WORKER_PORT
    from worker.project import load_project
    from worker.runtime import redis_url

    root = config_dir(config)
    with unset_variables_blank():  # the workers load it for real; here only REDIS_URL is read
        project = load_project(root)
    url = redis_url(settings_url=project.settings.redis_url)
    if not url:
        raise ConfigurationError(
            "REDIS_URL is not set; workers need Redis (or use `partnerplan run` in-process)"
        )
    env = {
        **os.environ,
        "REDIS_URL": url,
        "PARTNERPLAN_CONFIG": str(root.resolve()),
        # the worker processes log at this command's --log-level
        "PARTNERPLAN_LOG_LEVEL": str(ctx.find_root().params.get("log_level") or "warning").lower(),
    }
    if no_metrics:
        env["PARTNERPLAN_METRICS"] = "off"
    else:
        shared = metrics_dir()
        port = metrics_port or project.settings.metrics_port
        port = port or int(env.get("PARTNERPLAN_METRICS_PORT") or WORKER_PORT)
        env["PARTNERPLAN_METRICS_PORT"] = str(port)
        env.update({"PROMETHEUS_MULTIPROC_DIR": shared, "dramatiq_prom_db": shared})
    args = [
        sys.executable,
        "-m",
        "worker.supervisor",
        "worker.entry",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
        "--queues",
        "partnerplan",
        "--skip-logging",
    ]
    os.execvpe(sys.executable, args, env)  # noqa: S606 - become Dramatiq's supervisor


@enqueue_app.command("run")
def enqueue_run(
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    source: Annotated[str | None, typer.Option(metavar="SOURCE", help="Only this source.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Ignore watermarks.")] = False,
) -> None:
    """Put one run (every source, or one) on the queue for the workers."""
    from plans.db import session_scope
    from worker import jobs
    from worker.cli.queue import broker_context

    ctx, _url = broker_context(config, database_url)
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
    once: Annotated[
        bool, typer.Option(help="Run what is due this minute, report it, then exit.")
    ] = False,
    metrics_port: MetricsPortOption = None,
    no_metrics: NoMetricsOption = False,
) -> None:
    """Start scheduled runs from settings.yaml's cron expressions (safe to start twice).

    With Redis, due slots are enqueued for the workers (one enqueue per slot, whichever
    scheduler wins it). Without Redis, this process runs them itself; a second scheduler
    waits on a lock until the first stops. Each slot's outcome is logged when its runs end.
    """
    from worker.cli.schedule import Loop

    loop = Loop.start(config, database_url, once=once)
    with loop:
        if not once and not no_metrics:
            loop.serve_metrics(metrics_port)
        loop.forever() if not once else loop.once()


def register(app: typer.Typer) -> None:
    """Attach the run commands to the root app."""
    app.command()(run)
    app.command()(worker)
    app.command()(scheduler)
    app.add_typer(enqueue_app, name="enqueue")
