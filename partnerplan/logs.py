"""Logging: one pipeline for every record, configured before the first one, secrets masked.

Every log record of the process goes through the same processors, whether it came from
structlog (our code) or from the standard library (Dramatiq, SQLAlchemy, urllib3): one root
handler, a :class:`structlog.stdlib.ProcessorFormatter`. What it writes, to stderr only:

* **JSON lines when stderr is not a terminal** (a pipe, a file, journald, a container log), so
  a collector never sees a plain-text line in the middle; a readable console format on a TTY.
* **Run context on every event**: :func:`bind_run` puts the run id, stage and stream into
  context variables that every event of that run (and of the threads it starts with
  ``contextvars.copy_context``) carries.
* **No secret**: masked by key name (any key that looks like a credential) and by value (every
  secret the config loader resolved is registered here and masked wherever it appears, inside
  an exception message or a URL included), after rendering too.
* **Bounded tracebacks without local variables**: frames are rendered as plain text (never
  Rich's ``show_locals``, which printed a client secret held in a local), the innermost
  :data:`MAX_FRAMES` only, and the text is cut to :data:`MAX_TRACEBACK_CHARS` (one bad record
  once printed megabytes).

Importing this module configures logging with the defaults (warning, stderr, JSON unless a
TTY), so a logger used before the CLI has read ``--log-level`` is already safe; loggers are
lazy proxies (:func:`get_logger`), so a logger created at import time follows whatever
configuration is current when it is first used.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TextIO

import structlog

MASK = "***"
MAX_FRAMES = 12
"""Innermost frames kept in a logged traceback: where it failed, not the whole call chain."""
MAX_TRACEBACK_CHARS = 8_000
"""A logged traceback is cut to this many characters (its start and its end kept)."""
MAX_VALUE_CHARS = 2_000
"""Any other string value of an event is cut to this many characters."""
LEVELS = ("debug", "info", "warning", "error")
_SECRET_KEY = re.compile(
    r"(pass(word)?|secret|token|authorization|api[_-]?key|session[_-]?id|private[_-]?key|"
    r"credential|bearer|cookie)",
    re.IGNORECASE,
)
_secrets: set[str] = set()
_NOISY = {
    "urllib3": logging.WARNING,
    "sqlalchemy.engine": logging.WARNING,
    "alembic.runtime.plugins": logging.WARNING,  # one line per plugin at every start
}
"""Libraries whose info and debug lines repeat per call (and echo SQL parameters, that is
record values): they stay at warning whatever the level."""


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


def _cut(text: str, limit: int) -> str:
    """``text`` whole when short enough, else its start and end around a marker."""
    if len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head
    return f"{text[:head]}\n... [{len(text) - limit:,} characters cut] ...\n{text[-tail:]}"


def _redact_value(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key) and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return _cut(redact(value), MAX_TRACEBACK_CHARS if key == "exception" else MAX_VALUE_CHARS)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    if isinstance(value, BaseException):
        return _cut(redact(repr(value)), MAX_VALUE_CHARS)
    return value


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor masking secrets by key name and by registered value."""
    for key in list(event_dict):
        event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


def _redact_rendered(_logger: Any, _method: str, rendered: Any) -> Any:
    # Last line of defence: whatever a renderer produced is masked once more.
    return redact(rendered) if isinstance(rendered, str) else rendered


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def format_traceback(exc_info: ExcInfo) -> str:
    """A plain traceback: the innermost frames, no local variables, bounded, masked."""
    _type, error, tb = exc_info
    frames = traceback.extract_tb(tb)[-MAX_FRAMES:] if tb is not None else []
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)]
    lines += traceback.format_exception_only(_type, error)
    cause = error.__cause__ or error.__context__
    if cause is not None and not error.__suppress_context__:
        lines += ["caused by: ", *traceback.format_exception_only(type(cause), cause)]
    return _cut(redact("".join(lines).rstrip()), MAX_TRACEBACK_CHARS)


def _exc_info(value: Any) -> ExcInfo | None:
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if isinstance(value, tuple) and len(value) == 3 and value[0] is not None:
        return value
    if value is True:
        current = sys.exc_info()
        return current if current[0] is not None else None
    return None


def format_exceptions(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace ``exc_info`` by an ``exception`` string made by :func:`format_traceback`."""
    info = _exc_info(event_dict.pop("exc_info", None))
    if info is not None:
        event_dict["exception"] = format_traceback(info)
    return event_dict


def _plain_exception(stream: TextIO, exc_info: ExcInfo) -> None:
    """The console renderer's exception formatter: never Rich's, which shows locals."""
    stream.write("\n" + format_traceback(exc_info))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (Dramatiq's pipe in a worker, pytest's capture)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """The stream is always the current stderr; assignments are ignored."""


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def is_terminal() -> bool:
    """Whether stderr is a terminal (console format and progress bars) or not (JSON, no bars)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def configure(level: str = "warning", json: bool | None = None) -> None:
    """Configure logging for the whole process (structlog and the standard library alike).

    Args:
        level: debug, info, warning or error.
        json: JSON lines (True) or the console format (False); None picks JSON unless stderr
            is a terminal.
    """
    use_json = (not is_terminal()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(
            colors=is_terminal(), exception_formatter=_plain_exception
        )
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            format_exceptions,
            redact_processor,
            renderer,
            _redact_rendered,
        ],
    )
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    numeric = logging.getLevelNamesMapping()[level.upper()]
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name, floor in _NOISY.items():
        logging.getLogger(name).setLevel(max(numeric, floor))
    logging.captureWarnings(True)
    structlog.configure(
        processors=[
            *_SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A lazy structlog logger named ``name``: configured at first use, not at creation."""
    return structlog.stdlib.get_logger(name)


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Bind ``values`` (run id, stage, stream) to every event logged inside the block."""
    with structlog.contextvars.bound_contextvars(**values):
        yield


def bind_run(run_id: int | None, stage: str, stream: str | None = None) -> Any:
    """The context of one run: its id, stage and stream on every event logged inside it."""
    values: dict[str, Any] = {"run_id": run_id, "stage": stage}
    if stream is not None:
        values["stream"] = stream
    return bound(**values)


configure()


def current_context() -> dict[str, Any]:
    """The values bound to this context (run id, stage, stream), e.g. to label a retry."""
    return structlog.contextvars.get_contextvars()
