"""Prometheus metrics: what a sync did, read from the store; what a process saw, counted live.

Two sources, one exposition (``/metrics`` of ``partnerplan worker`` and ``partnerplan
scheduler``, :mod:`worker.health`):

* **From the store, at scrape time** (:class:`StoreCollector`): records pulled and quarantined
  per stream, API calls per source, runs by stage and outcome, run durations, seconds since
  each stream's last complete sync, rows pushed and rejected. The run table already holds
  every one of these numbers, written in the same transaction as the data they count, so they
  are exact whichever process (or machine) did the work, and survive restarts: a counter
  never goes back because a worker was restarted. A scrape runs a few grouped queries;
  results are cached for :data:`CACHE_SECONDS` so that several scrapers cost one.
* **Live, in the process that made the call**: retries and 429 answers per source and CRM
  (nothing in the store records them). Under ``partnerplan worker`` the processes share them
  through prometheus_client's multiprocess directory, next to Dramatiq's own message metrics
  (its Prometheus middleware, :mod:`worker.broker`).

Names follow Prometheus' conventions: ``partnerplan_`` prefix, ``_total`` for counters,
base units (seconds).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from partnerplan.errors import RateLimited
from plans.store import PushStateRow, RunRow
from worker import jobs

CACHE_SECONDS = 10.0
"""Store readings are reused for this long (Prometheus scrapes every 15-60 s)."""
RETRIES = Counter(
    "partnerplan_crm_retries",
    "CRM calls retried after a transient failure (timeouts, 5xx, 429), by source and CRM.",
    ["source", "crm"],
)
RATE_LIMITED = Counter(
    "partnerplan_crm_rate_limited",
    "Answers in which the CRM asked us to slow down (HTTP 429), by source and CRM.",
    ["source", "crm"],
)


def count_retry(source: str, crm: str, error: BaseException | None) -> None:
    """Count one retried CRM call (and a 429 apart)."""
    RETRIES.labels(source, crm).inc()
    if isinstance(error, RateLimited):
        RATE_LIMITED.labels(source, crm).inc()


@dataclass(frozen=True)
class Stream:
    """A mapped stream, its source and the source's CRM kind (labels of the metrics)."""

    source: str
    stream: str
    crm: str


class StoreCollector(Collector):
    """Reads the run and push tables at scrape time (see the module docstring)."""

    def __init__(self, engine: Engine, streams: Iterable[Stream]) -> None:
        self.engine = engine
        self.streams = list(streams)
        self.kinds = {s.source: s.crm for s in self.streams}
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterator[Metric]:
        """The metrics, from a reading at most :data:`CACHE_SECONDS` old."""
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > CACHE_SECONDS:
                self._cached = (time.monotonic(), self._read())
            yield from self._cached[1]

    def _read(self) -> list[Metric]:
        with Session(self.engine) as session:
            return [
                *self._stream_totals(session),
                self._api_calls(session),
                *self._runs(session),
                self._freshness(session),
                *self._pushes(session),
            ]

    def _stream_totals(self, session: Session) -> list[Metric]:
        pulled = CounterMetricFamily(
            "partnerplan_records_pulled",
            "Records pulled from the CRM, by stream.",
            labels=["source", "stream"],
        )
        quarantined = CounterMetricFamily(
            "partnerplan_records_quarantined",
            "Records quarantined (could not be mapped or stored), by stream.",
            labels=["source", "stream"],
        )
        query = (
            select(
                col(RunRow.source),
                col(RunRow.stream),
                func.sum(RunRow.records_pulled),
                func.sum(RunRow.records_quarantined),
            )
            .where(col(RunRow.stage) == "sync_stream")
            .group_by(col(RunRow.source), col(RunRow.stream))
        )
        seen = {(s.source, s.stream): (0, 0) for s in self.streams}
        for source, stream, pulled_sum, quarantined_sum in session.execute(query):
            seen[(source or "", stream or "")] = (int(pulled_sum or 0), int(quarantined_sum or 0))
        for (source, stream), (pulled_n, quarantined_n) in sorted(seen.items()):
            pulled.add_metric([source, stream], pulled_n)
            quarantined.add_metric([source, stream], quarantined_n)
        return [pulled, quarantined]

    def _api_calls(self, session: Session) -> Metric:
        calls = CounterMetricFamily(
            "partnerplan_api_calls",
            "API calls made to each CRM (retries included): pulls and pushes.",
            labels=["source", "crm"],
        )
        totals = dict.fromkeys(self.kinds, 0)
        query = (
            select(col(RunRow.source), func.sum(RunRow.api_calls))
            .where(col(RunRow.source).is_not(None))
            .group_by(col(RunRow.source))
        )
        for source, total in session.execute(query):
            totals[source] = totals.get(source, 0) + int(total or 0)
        for details in session.scalars(
            select(col(RunRow.details)).where(col(RunRow.stage) == "push_progress")
        ):
            for name, report in push_reports(details):
                totals[name] = totals.get(name, 0) + int(report.get("write_calls", 0))
        for source, total in sorted(totals.items()):
            calls.add_metric([source, self.kinds.get(source, "")], total)
        return calls

    def _runs(self, session: Session) -> list[Metric]:
        runs = CounterMetricFamily(
            "partnerplan_runs",
            "Runs finished, by stage and outcome.",
            labels=["stage", "outcome"],
        )
        duration = CounterMetricFamily(
            "partnerplan_run_seconds",
            "Seconds spent in finished runs, by stage (divide by partnerplan_runs_total).",
            labels=["stage"],
        )
        query = (
            select(col(RunRow.stage), col(RunRow.outcome), func.count())
            .where(col(RunRow.outcome).in_(jobs.FINISHED))
            .group_by(col(RunRow.stage), col(RunRow.outcome))
        )
        for stage, outcome, count in session.execute(query):
            runs.add_metric([stage, outcome], int(count))
        seconds = _seconds(session, RunRow.started_at, RunRow.finished_at)
        spent = session.execute(
            select(col(RunRow.stage), func.sum(seconds))
            .where(col(RunRow.finished_at).is_not(None), col(RunRow.started_at).is_not(None))
            .group_by(col(RunRow.stage))
        )
        for stage, total in sorted(spent.all()):
            duration.add_metric([stage], float(total or 0))
        return [runs, duration]

    def _freshness(self, session: Session) -> Metric:
        age = GaugeMetricFamily(
            "partnerplan_stream_sync_age_seconds",
            "Seconds since each stream's last complete sync (+Inf: never synced).",
            labels=["source", "stream"],
        )
        query = (
            select(col(RunRow.source), col(RunRow.stream), func.max(RunRow.finished_at))
            .where(col(RunRow.stage) == "sync_stream", col(RunRow.outcome) == jobs.SUCCEEDED)
            .group_by(col(RunRow.source), col(RunRow.stream))
        )
        last = {(source, stream): at for source, stream, at in session.execute(query)}
        now = jobs.now()
        for s in self.streams:
            at = last.get((s.source, s.stream))
            age.add_metric([s.source, s.stream], (now - at).total_seconds() if at else math.inf)
        return age

    def _pushes(self, session: Session) -> list[Metric]:
        rows = CounterMetricFamily(
            "partnerplan_pushed_rows",
            "Rows written to a CRM by pushes, by destination and result (landed, rejected).",
            labels=["destination", "result"],
        )
        totals: dict[tuple[str, str], int] = {}
        for details in session.scalars(
            select(col(RunRow.details)).where(col(RunRow.stage) == "push_progress")
        ):
            for name, report in push_reports(details):
                for result, key in (("landed", "landed"), ("rejected", "failed")):
                    totals[(name, result)] = totals.get((name, result), 0) + int(report.get(key, 0))
        for (name, result), total in sorted(totals.items()):
            rows.add_metric([name, result], total)
        waiting = GaugeMetricFamily(
            "partnerplan_push_rejected_rows",
            "Rows a CRM rejected that still wait for a retry (`partnerplan push errors`).",
            labels=["destination"],
        )
        query = (
            select(col(PushStateRow.destination), func.count())
            .where(col(PushStateRow.last_error).is_not(None))
            .group_by(col(PushStateRow.destination))
        )
        for destination, count in session.execute(query):
            waiting.add_metric([destination], int(count))
        return [rows, waiting]


def _seconds(session: Session, start: Any, end: Any) -> Any:
    """``end - start`` in seconds, as SQL (summed in the database, not row by row here)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86_400.0
    return func.extract("epoch", end - start)


def push_reports(details: dict[str, Any] | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """The per-destination reports in a push run's details (``{name: {"sent": ...}}``)."""
    for name, report in (details or {}).items():
        if isinstance(report, dict) and "sent" in report:
            yield name, report
