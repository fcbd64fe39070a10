"""Before a run pulls a page: can each source be reached, and does it accept us?

Without this, an unreachable CRM showed as a spinner over "0 records" for two minutes per
stream while every call went through its whole retry budget. A preflight asks each source, in
seconds, four questions in order, and stops at the first that fails, with an error naming the
source, the step and the fix:

1. **DNS**: does the host of the source's API URL resolve?
2. **TLS**: does a TCP connection open, and does the server's certificate verify (against the
   source's ``ca_bundle`` when it has one)? For a plain ``http://`` URL (a proxy, the local
   sandbox): does a TCP connection open (``connect``)?
3. **Auth and one cheap call**: the connector checks one mapped stream's fields, which logs in
   and makes one describe/properties call, with a retry policy of :data:`PREFLIGHT_ATTEMPTS`
   tries, not the run's budget.

A source that fails its preflight is not synced in that run; the others are.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from connectors.crms import REGISTRY
from connectors.retry import RetryPolicy
from connectors.settings import SourceSettings
from partnerplan.errors import ConfigurationError, PartnerplanError
from partnerplan.logs import bound, get_logger, redact
from worker.project import Project

log = get_logger(__name__)
TIMEOUT_SECONDS = 5.0
"""Per step: DNS, connect + TLS handshake."""
PREFLIGHT_ATTEMPTS = 2


@dataclass(frozen=True)
class SourceCheck:
    """One source's preflight: the step that failed (None when all passed) and why."""

    source: str
    failed_step: str | None = None
    error: str | None = None
    bad_config: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether every step passed."""
        return self.failed_step is None


def _resolve(host: str, port: int, timeout: float) -> str | None:
    """None when ``host`` resolves within ``timeout``, else why not."""
    result: list[str | None] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
            result.append(None)
        except OSError as exc:
            result.append(str(exc.strerror or exc))

    thread = threading.Thread(target=lookup, name="preflight-dns", daemon=True)
    thread.start()
    thread.join(timeout)
    if not result:
        return f"no answer within {timeout:.0f} s"
    return result[0]


def _handshake(host: str, port: int, ca_bundle: str | None, timeout: float) -> str | None:
    """None when a TLS session opens and the certificate verifies, else why not."""
    try:
        context = ssl.create_default_context(cafile=ca_bundle or None)
    except (OSError, ssl.SSLError) as exc:
        return f"cannot load ca_bundle {ca_bundle!r} ({exc.__class__.__name__})"
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return None
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message
        return f"certificate not trusted ({reason}); set ca_bundle to the CA that signed it"
    except (OSError, ssl.SSLError) as exc:
        return f"{exc.__class__.__name__}: {exc.strerror or exc}"


def _reach(url: str, ca_bundle: str | None) -> tuple[str, str, bool] | None:
    """(step, error, bad config) when ``url``'s host cannot be resolved or reached, else None."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        return "config", f"API URL {url!r} has no host; check settings.yaml", True
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "config", f"API URL {url!r} has a bad port; check settings.yaml", True
    problem = _resolve(host, port, TIMEOUT_SECONDS)
    if problem is not None:
        return "dns", f"cannot resolve {host} ({problem}); check the source's URL", False
    if parts.scheme == "https":
        problem = _handshake(host, port, ca_bundle, TIMEOUT_SECONDS)
        if problem is not None:
            return "tls", f"{host}:{port}: {problem}", False
        return None
    try:  # plain HTTP (a proxy, a local sandbox): is anything listening?
        socket.create_connection((host, port), timeout=TIMEOUT_SECONDS).close()
    except OSError as exc:
        return "connect", f"{host}:{port}: {exc.strerror or exc}", False
    return None


def check_source(project: Project, name: str, settings: SourceSettings) -> SourceCheck:
    """Run the preflight of one source (see the module docstring)."""
    started = time.monotonic()

    def failed(step: str, error: str, bad_config: bool = False) -> SourceCheck:
        spent = time.monotonic() - started
        return SourceCheck(name, step, redact(error), bad_config, spent)

    url = REGISTRY.get(settings.type).dialect.api_url(settings)
    if url is not None:
        problem = _reach(url, settings.ca_bundle)
        if problem is not None:
            return failed(*problem)
    streams = project.mappings.ordered(name)
    if streams:
        policy = RetryPolicy(attempts=PREFLIGHT_ATTEMPTS, backoff=0.5, max_backoff=1.0)
        connector = REGISTRY.connect(name, settings, policy)
        spec = project.mappings.streams[streams[0]].spec()
        try:
            connector.check_fields(spec)
        except ConfigurationError as exc:
            return failed("auth", str(exc), True)
        except PartnerplanError as exc:
            return failed("auth", str(exc))
    return SourceCheck(name, seconds=time.monotonic() - started)


def preflight(project: Project, sources: list[str]) -> list[SourceCheck]:
    """Check each of ``sources``, all at once: each check is a few round trips to its CRM."""
    if len(sources) < 2:
        return [_check(project, name) for name in sources]
    with ThreadPoolExecutor(max_workers=len(sources), thread_name_prefix="preflight") as pool:
        return list(pool.map(lambda name: _check(project, name), sources))


def _check(project: Project, name: str) -> SourceCheck:
    """One source's check, logged."""
    with bound(stage="preflight", source=name):
        check = check_source(project, name, project.settings.sources[name])
        log.info(
            "preflight",
            source=name,
            ok=check.ok,
            step=check.failed_step,
            error=check.error,
            seconds=round(check.seconds, 2),
        )
    return check
