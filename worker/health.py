"""``/metrics`` and ``/healthz``: what a monitoring system and an orchestrator ask a process.

``partnerplan scheduler`` serves them from a thread of its own process; ``partnerplan worker``
from a process Dramatiq forks for it (:func:`serve_worker`, named by the broker's Prometheus
middleware), which reads every worker process's live counters from prometheus_client's
multiprocess directory.

``/healthz`` answers 200 ``ok`` when the store answers a query (for workers, Redis too; for
the scheduler, its loop has ticked recently), 503 with the reason otherwise: what a container's
``HEALTHCHECK``, a Kubernetes probe or a load balancer reads. It never shows a URL or a secret.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.engine import Engine

from partnerplan.config import config_dir, unset_variables_blank
from partnerplan.logs import get_logger
from plans.db import make_engine
from worker.metrics import RATE_LIMITED, RETRIES, StoreCollector, Stream
from worker.project import Project, load_project

log = get_logger(__name__)
DEFAULT_HOST = "127.0.0.1"
WORKER_PORT = 9191
"""Where ``partnerplan worker`` serves by default (Dramatiq's own default metrics port)."""
SCHEDULER_PORT = 9192
Check = Callable[[], str | None]
"""A health check: None when healthy, else what is wrong."""


def store_check(engine: Engine) -> Check:
    """Healthy while the store answers ``SELECT 1``."""

    def check() -> str | None:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to reach the store is "unhealthy", never a crash
            return f"the store does not answer ({exc.__class__.__name__})"
        return None

    return check


def redis_check(url: str) -> Check:
    """Healthy while Redis answers ``PING`` (the workers' queue)."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)

    def check() -> str | None:
        try:
            client.ping()
        except redis.RedisError as exc:
            return f"Redis does not answer ({exc.__class__.__name__})"
        return None

    return check


def streams_of(project: Project) -> list[Stream]:
    """Every mapped stream with its source's CRM kind."""
    kinds = project.settings.kinds()
    return [
        Stream(s.source, s.name, kinds.get(s.source, "")) for s in project.mappings.streams.values()
    ]


def registry_for(
    engine: Engine, project: Project, *, live: Collector | None = None
) -> CollectorRegistry:
    """The store's metrics plus the live counters: ``live`` (every worker process's, read from
    the multiprocess directory), or by default this process's own."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(engine, streams_of(project)))
    for collector in [live] if live is not None else [RETRIES, RATE_LIMITED]:
        registry.register(collector)
    return registry


class MetricsServer:
    """An HTTP server in a daemon thread: ``/metrics`` and ``/healthz``."""

    def __init__(
        self, registry: CollectorRegistry, checks: list[Check], host: str, port: int
    ) -> None:
        handler = _handler(registry, checks)
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, name="partnerplan-metrics", daemon=True
        )

    @property
    def port(self) -> int:
        """The port it listens on (useful when started on port 0)."""
        return int(self.httpd.server_address[1])

    def start(self) -> MetricsServer:
        """Serve from the daemon thread."""
        self.thread.start()
        log.info("metrics_server_started", port=self.port)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def _handler(registry: CollectorRegistry, checks: list[Check]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path in ("/healthz", "/health"):
                problems = [p for p in (check() for check in checks) if p]
                body = ("ok\n" if not problems else "\n".join(problems) + "\n").encode()
                self._answer(503 if problems else 200, body, "text/plain; charset=utf-8")
            else:
                self._answer(404, b"try /metrics or /healthz\n", "text/plain; charset=utf-8")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("metrics_request", request=format % args)

    return Handler


def address(port: int | None, default: int) -> tuple[str, int]:
    """Host and port: ``PARTNERPLAN_METRICS_HOST`` (default 127.0.0.1) and the port given,
    else ``PARTNERPLAN_METRICS_PORT``, else ``default``."""
    host = os.environ.get("PARTNERPLAN_METRICS_HOST", DEFAULT_HOST)
    env = os.environ.get("PARTNERPLAN_METRICS_PORT")
    return host, port if port is not None else int(env) if env else default


def serve_worker() -> int:
    """Dramatiq's fork process of ``partnerplan worker``: serve until the worker stops.

    Reads the config (unset variables blank: no secret is needed to count rows) and
    ``DATABASE_URL`` like the worker processes, and every worker process's live counters
    (Dramatiq's messages, our retries) from ``PROMETHEUS_MULTIPROC_DIR``.
    """
    with unset_variables_blank():
        project = load_project(config_dir(None))
    url = os.environ.get("DATABASE_URL") or project.settings.database_url
    engine = make_engine(url)
    live = CollectorRegistry(auto_describe=False)
    multiprocess.MultiProcessCollector(live)  # type: ignore[no-untyped-call]
    host, port = address(project.settings.metrics_port, WORKER_PORT)
    checks = [store_check(engine), redis_check(os.environ["REDIS_URL"])]
    server = MetricsServer(registry_for(engine, project, live=live), checks, host, port)
    log.info("metrics_server_started", port=server.port, pid=os.getpid())
    server.httpd.serve_forever()
    return 0
