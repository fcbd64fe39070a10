"""The HTTP plumbing both sandbox servers share: requests, responses, a threaded server, TLS.

The stdlib ``ThreadingHTTPServer`` with HTTP/1.1 keep-alive is fast enough once bodies are
encoded with orjson (measured in ``bench/sandbox_throughput.py``); the servers bind their
socket before the constructor returns, so callers never wait or sleep for readiness.
"""

from __future__ import annotations

import re
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson


@dataclass
class Request:
    """One HTTP request, decoded."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when empty)."""
        return orjson.loads(self.body) if self.body else None

    def param(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str:
        """A request header (case-insensitive), ``""`` when absent."""
        return self.headers.get(name.lower(), "")


@dataclass
class Response:
    """One HTTP response."""

    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response encoded with orjson."""
    return Response(status, orjson.dumps(data), headers=dict(headers or {}))


Handler = Callable[[Request], Response]


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle on, every keep-alive response then
    # waits ~40 ms for the client's delayed ACK, twenty times the work of answering it.
    disable_nagle_algorithm = True
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            self.command,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        response = self.server.app(request)
        self.send_response(response.status)
        if response.status != 204:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request stderr log; stats are kept by the servers instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], app: Handler) -> None:
        self.app = app
        super().__init__(address, _RequestHandler)


class HttpServer:
    """A bound, serving HTTP(S) server on loopback; ``close()`` stops it."""

    def __init__(
        self,
        app: Handler,
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self._server = _Server((host, port), app)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = int(self._server.server_address[1])
        self.scheme = "https" if tls else "http"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # close() waits at most this long for the loop
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """``scheme://127.0.0.1:PORT``."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def match_route(
    routes: Iterable[tuple[str, re.Pattern[str], Callable[..., Response]]], method: str, path: str
) -> tuple[re.Match[str] | None, Callable[..., Response] | None, str]:
    """The first route matching ``method`` and ``path``: (match, handler, endpoint name).

    The endpoint name (``"GET /crm/v3/objects/…"``) is what ``/__sandbox/stats`` counts by;
    an unknown path is counted as ``"METHOD ?"`` with no handler.
    """
    for route_method, pattern, handler in routes:
        found = pattern.match(path)
        if found and route_method == method:
            return found, handler, f"{route_method} {pattern.pattern.strip('^$')}"
    return None, None, f"{method} ?"
