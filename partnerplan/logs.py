"""Logging setup: structlog, a console renderer on a TTY and JSON otherwise, secrets masked.

Secrets are masked twice over: by key name (any event key that looks like a credential) and by
value (every secret the config loader resolved is registered here, and any string that contains
one is masked wherever it appears, e.g. inside an exception message or a URL).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

MASK = "***"
_SECRET_KEY = re.compile(
    r"(pass(word)?|secret|token|authorization|api[_-]?key|session[_-]?id|private[_-]?key|"
    r"credential|bearer|cookie)",
    re.IGNORECASE,
)
_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a secret value so that it is masked in every log line and error message."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every registered secret value replaced by ``***``."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _redact_value(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key) and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    if isinstance(value, BaseException):
        return redact(repr(value))
    return value


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor masking secrets by key name and by registered value."""
    for key in list(event_dict):
        event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


def _redact_rendered(_logger: Any, _method: str, rendered: Any) -> Any:
    # Last line of defence: tracebacks are rendered after the per-key pass.
    return redact(rendered) if isinstance(rendered, str) else rendered


def configure(level: str = "info", json: bool | None = None) -> None:
    """Configure structlog once for the process. ``json=None`` picks JSON unless stderr is a TTY."""
    use_json = (not sys.stderr.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_processor,
            structlog.processors.format_exc_info
            if use_json
            else structlog.processors.StackInfoRenderer(),
            renderer,
            _redact_rendered,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A structlog logger bound with the module name."""
    return structlog.get_logger(name).bind(logger=name)
