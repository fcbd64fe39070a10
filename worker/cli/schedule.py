"""The loop behind ``partnerplan scheduler``: tick every minute, report each slot's outcome.

With Redis a tick enqueues the due slots it wins and the workers run them; the loop keeps the
slots whose runs have not all finished and logs each one's outcome (``slot_finished``, a
warning when a run failed) on the tick that sees it end. Without Redis this process runs the
slots itself, so their outcome is known on the same tick. ``--once`` ticks over the last
minute and prints what it did: each slot and its runs' outcomes, or that nothing was due and
when the next slot is.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

import typer

from partnerplan.logs import get_logger
from plans import migrate
from worker import jobs, locks
from worker.dispatch import InlineDispatcher
from worker.health import SCHEDULER_PORT, MetricsServer, address, registry_for, store_check
from worker.pipeline import Context
from worker.runner import execute_all, recover
from worker.scheduler import Slot, describe, next_slot, redis_claim, slot_outcome, tick

log = get_logger("worker.scheduler")
HEALTHY_TICK = timedelta(minutes=3)
"""The scheduler is unhealthy when its loop has not ticked for this long."""


def _always(_key: str, _ttl: timedelta) -> bool:
    """The in-process scheduler holds the leader lock, so every slot is its own."""
    return True


class Loop:
    """One scheduler process: its context, how it claims slots, and the slots in flight."""

    def __init__(self, ctx: Context, claim: Any, inline: InlineDispatcher | None) -> None:
        self.ctx = ctx
        self.claim = claim
        self.inline = inline
        self.stack = ExitStack()
        self.pending: list[tuple[Slot, list[int]]] = []
        self.last_tick = jobs.now()
        self.failed = False

    @classmethod
    def start(cls, config: Path | None, database_url: str | None, *, once: bool) -> Loop:
        """Load the config; with Redis, claim slots there; without, take the leader lock."""
        from partnerplan.config import config_dir
        from worker.cli.queue import broker_context
        from worker.project import load_project
        from worker.runtime import build_context, redis_url

        project = load_project(config_dir(config))
        url = redis_url(settings_url=project.settings.redis_url)
        if url:
            import redis as redis_lib

            ctx, _ = broker_context(config, database_url)
            return cls(ctx, redis_claim(redis_lib.Redis.from_url(url)), None)
        inline = InlineDispatcher()
        ctx = build_context(inline, config=config, database_url=database_url)
        migrate.upgrade(ctx.engine)
        loop = cls(ctx, _always, inline)
        loop.stack.enter_context(locks.exclusive(ctx.engine, "scheduler", wait=True))
        return loop

    def __enter__(self) -> Loop:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stack.close()

    @property
    def timezone(self) -> str:
        """The zone the cron expressions are read in."""
        return self.ctx.project.settings.timezone

    def serve_metrics(self, port: int | None) -> MetricsServer:
        """Serve /metrics and /healthz (the store answers, the loop ticks) from a thread."""
        host, chosen = address(port or self.ctx.project.settings.metrics_port, SCHEDULER_PORT)
        registry = registry_for(self.ctx.engine, self.ctx.project)
        checks = [store_check(self.ctx.engine), self._ticking]
        server = MetricsServer(registry, checks, host, chosen).start()
        self.stack.callback(server.stop)
        return server

    def _ticking(self) -> str | None:
        late = jobs.now() - self.last_tick
        return f"the scheduler loop last ticked {late} ago" if late > HEALTHY_TICK else None

    def tick(self, after: datetime, until: datetime) -> list[tuple[Slot, list[int]]]:
        """Start the slots due in ``(after, until]``; run them here when there is no Redis."""
        ctx = self.ctx
        won = tick(
            ctx.engine,
            ctx.dispatcher,
            ctx.project.mappings,
            ctx.project.settings.schedules,
            self.claim,
            after=after,
            until=until,
            timezone=self.timezone,
        )
        if self.inline is not None:
            errors: list[str] = []
            execute_all(ctx, self.inline, errors)
            for error in errors:
                log.warning("run_failed", error=error)
        else:
            recover(ctx)
        self.pending.extend(won)
        self.last_tick = jobs.now()
        return won

    def report(self) -> list[str]:
        """Log the outcome of every slot whose runs have all finished; return the lines."""
        lines, still = [], []
        for slot, ids in self.pending:
            outcome = slot_outcome(self.ctx.engine, ids)
            if not outcome.finished:
                still.append((slot, ids))
                continue
            line = f"{self._when(slot.at)} {slot.schedule.cron!r} ({describe(slot.schedule)}): "
            line += outcome.render()
            event = log.warning if outcome.failed else log.info
            event(
                "slot_finished",
                cron=slot.schedule.cron,
                at=slot.at.isoformat(),
                action=describe(slot.schedule),
                outcomes=outcome.outcomes,
                errors=outcome.errors[:10],
            )
            self.failed = self.failed or outcome.failed
            lines.append(line)
            lines += [f"  error: {error}" for error in outcome.errors[:10]]
        self.pending = still
        return lines

    def _when(self, at: datetime) -> str:
        return at.astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m-%d %H:%M %Z")

    def once(self) -> None:
        """Tick over the last minute, print what it did, exit 1 if a run failed."""
        until = jobs.now()
        after = until - timedelta(minutes=1)
        won = self.tick(after, until)
        for line in self.report():
            typer.echo(line)
        for slot, ids in self.pending:  # with Redis: on the queue, the workers run them
            typer.echo(
                f"{self._when(slot.at)} {slot.schedule.cron!r} ({describe(slot.schedule)}): "
                f"enqueued {len(ids)} run(s) for the workers: {', '.join(map(str, ids))}"
            )
        if not won:
            upcoming = next_slot(self.ctx.project.settings.schedules, until, self.timezone)
            nxt = (
                f"; the next slot is {self._when(upcoming.at)} ({upcoming.schedule.cron!r}, "
                f"{describe(upcoming.schedule)})"
                if upcoming
                else "; settings.yaml has no schedules"
            )
            typer.echo(f"nothing was due between {self._when(after)} and {self._when(until)}{nxt}")
        if self.failed:
            raise typer.Exit(1)

    def forever(self) -> None:
        """Tick at the start of every minute until interrupted."""
        last = jobs.now()
        log.info("scheduler_started", timezone=self.timezone, redis=self.inline is None)
        while True:
            current = jobs.now()
            self.tick(last, current)
            self.report()
            last = current
            time.sleep(max(1.0, 60 - jobs.now().second))
