"""Fixtures for connector tests: source settings, a no-sleep retry policy, a local HubSpot fake.

HubSpot's client speaks urllib3, which ``responses`` cannot intercept, so HubSpot unit tests run
against :class:`FakeHubSpot`: a real local HTTP server answering from a route table and
recording every request it received.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.hubspot.settings import HubSpotSource
from connectors.retry import RetryPolicy
from connectors.salesforce.settings import SalesforceSource

INSTANCE = "https://acme.my.salesforce.com"
TOKEN_URL = "https://login.example.test/services/oauth2/token"
FAST = {"window_calls": 1000, "window_seconds": 1, "search_per_second": 1000, "margin": 1}
"""Limits the pacer never waits on: these tests are about other things than pacing."""


def sf_source(**overrides: Any) -> SalesforceSource:
    """Salesforce settings for tests; secrets given as SecretStr as the loader would."""
    auth = {
        "flow": "client_credentials",
        "token_url": TOKEN_URL,
        "client_id": SecretStr("client-id-123"),
        "client_secret": SecretStr("client-secret-456"),
    }
    auth.update(overrides.pop("auth", {}))
    data: dict[str, Any] = {"type": "salesforce", "instance_url": INSTANCE, "auth": auth}
    data.update(overrides)
    return SalesforceSource.model_validate(data)


def hs_source(base_url: str, **overrides: Any) -> HubSpotSource:
    """HubSpot settings for tests pointing at ``base_url``."""
    data: dict[str, Any] = {
        "type": "hubspot",
        "base_url": base_url,
        "token": SecretStr("pat-na1-secret-token"),
        "search_lag_seconds": 0,
        "first_load": "search",  # these tests read the search pager; test_listing the choice
        "rate_limits": FAST,
    }
    data.update(overrides)
    return HubSpotSource.model_validate(data)


@pytest.fixture
def no_sleep() -> RetryPolicy:
    """A retry policy that records requested waits but never sleeps."""
    return RetryPolicy(attempts=4, backoff=0.001, max_backoff=0.001, sleep=lambda _s: None)


Handler = Callable[["Request"], tuple[int, Any, dict[str, str]]]


@dataclass
class Request:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeHubSpot:
    """A local HTTP server answering ``(method, path prefix)`` routes; records requests."""

    url: str = ""
    routes: dict[tuple[str, str], list[Handler]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def on(self, method: str, path: str, *handlers: Handler) -> None:
        """Answer ``method path`` with each handler in turn (the last one repeats)."""
        self.routes[(method, path)] = list(handlers)

    def answer(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        self.requests.append(request)
        for (method, path), handlers in self.routes.items():
            if method == request.method and request.path.split("?")[0] == path:
                handler = handlers.pop(0) if len(handlers) > 1 else handlers[0]
                return handler(request)
        return 404, {"status": "error", "message": f"no route {request.path}"}, {}


def reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Handler:
    """A handler that always gives the same answer."""
    return lambda _request: (status, body, headers or {})


@pytest.fixture
def fake_hubspot() -> Iterator[FakeHubSpot]:
    """A running :class:`FakeHubSpot`, stopped after the test."""
    fake = FakeHubSpot()

    class _Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            status, answer, headers = fake.answer(
                Request(self.command, self.path, dict(self.headers), body)
            )
            payload = b"" if answer is None else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
