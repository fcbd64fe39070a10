"""Loading YAML config files into pydantic models, with every problem located at FILE:LINE.

Every stage declares its own pydantic models (sources in ``connectors``, mappings in ``mappings``,
plans and metrics in ``plans``, settings in ``worker``); this module is the shared machinery that
turns a file into one of those models or into a list of :class:`~partnerplan.errors.Problem`:

* YAML is composed node by node so that every key and list item keeps its line number; a
  pydantic error's ``loc`` is then mapped back to the line of the key it names.
* In ``settings.yaml`` only (``parse(..., expand=True)``), ``${VAR}`` and ``${VAR:-default}``
  are replaced from the environment, then from the secrets file named by
  ``PARTNERPLAN_SECRETS_FILE`` (a ``.env`` file, parsed by python-dotenv, private to its
  owner). ``$${`` escapes a literal. Every other file (plans, mappings,
  metrics, write-back) keeps ``$`` as text: a plan key imported from a spreadsheet cell
  ``Q4-${HUBSPOT_TOKEN}`` must never become the token.
* A field typed :data:`Secret` only accepts a value that came from the environment or the
  secrets file, so that no credential is ever committed in YAML, not even as a
  ``${VAR:-default}`` default; the value is registered for masking in logs.
* Duplicate keys, tabs, empty files, oversized files, text that is not UTF-8 and alias chains
  that expand past :data:`MAX_VALUES` are reported, not silently accepted.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args, get_origin

import yaml
from dotenv import dotenv_values
from pydantic import BaseModel, BeforeValidator, ConfigDict, SecretStr, ValidationError

from partnerplan.errors import ConfigProblems, ConfigurationError, Problem
from partnerplan.logs import register_secret

MAX_CONFIG_BYTES = 1024 * 1024
MAX_VALUES = 200_000
"""Values one document may expand to: a 1 MiB file holds far fewer, so more means an alias
chain (``&a [*b, *b, ...]``) that would otherwise take minutes and gigabytes to build."""
_ENV_REF = re.compile(r"\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
M = TypeVar("M", bound=BaseModel)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML was built with it: ten times faster, with the same marks."""
_UNSET_IS_BLANK: ContextVar[bool] = ContextVar("unset_is_blank", default=False)


@contextmanager
def unset_variables_blank() -> Iterator[None]:
    """Inside this block an unset ``${VAR}`` reads as blank instead of being a problem.

    For the commands that only read the store (``status``, ``runs``, ``explain``, ...): they
    need the config's mappings and plans, never a CRM credential, so a machine that only
    reports (or a newcomer right after ``make demo``) need not export CRM secrets first.
    """
    token = _UNSET_IS_BLANK.set(True)
    try:
        yield
    finally:
        _UNSET_IS_BLANK.reset(token)


Loc = tuple[str | int, ...]


class EnvStr(str):
    """A string whose value came (at least in part) from an environment/secrets-file reference."""

    __slots__ = ()


class StrictModel(BaseModel):
    """Base for config models: unknown keys are errors (a typo must never be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _from_reference_only(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value
    if value is None or value == "":
        return value
    if not isinstance(value, EnvStr):
        raise ValueError(
            "secrets may not be written in YAML: write ${ENV_VAR} here and set that variable "
            "in the environment or in the secrets file (PARTNERPLAN_SECRETS_FILE)"
        )
    register_secret(str(value))
    return SecretStr(str(value))


Secret = Annotated[SecretStr, BeforeValidator(_from_reference_only)]
"""A credential: accepted only from ``${ENV_VAR}``; masked in every log and error."""


@dataclass
class Document:
    """A parsed YAML file: plain Python data plus the line of every key and list item."""

    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, loc: Loc) -> int:
        """The line of the deepest located prefix of ``loc`` (1-based; 1 if nothing matches)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return 1

    def problem(self, loc: Loc, message: str, severity: str = "error") -> Problem:
        """A problem located at ``loc`` in this document."""
        return Problem(str(self.path), self.line_of(loc), message, _dotted(loc), severity)


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


SECRETS_FILE_MODE_MASK = 0o077
"""Permission bits a secrets file may not have: any access for its group or for others."""


def secrets_file_values(path: Path) -> dict[str, str]:
    """The ``KEY=VALUE`` pairs of a secrets file, parsed by python-dotenv.

    python-dotenv reads the format people write in ``.env`` files (``export``, quotes,
    escapes, multi-line quoted values, ``# comments`` after an unquoted value), which a
    hand-written ``partition("=")`` got wrong: it kept an inline comment in the value. A file
    that its group or others may read is refused with the ``chmod`` that fixes it, before a
    single value is read: a secret readable by every user of the machine is already leaked.

    Raises:
        ConfigurationError: the file is missing, unreadable, or readable by others.
    """
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigurationError(
            f"PARTNERPLAN_SECRETS_FILE={path}: cannot read it ({exc.strerror}); "
            "point the variable at an existing file or unset it"
        ) from None
    if mode & SECRETS_FILE_MODE_MASK:
        raise ConfigurationError(
            f"PARTNERPLAN_SECRETS_FILE={path} is readable by other users "
            f"(mode {mode & 0o777:o}); run `chmod 600 {path}`"
        )
    values = dotenv_values(path, interpolate=False, encoding="utf-8")
    return {key: value for key, value in values.items() if value is not None}


def _secrets_file() -> dict[str, str]:
    path = os.environ.get("PARTNERPLAN_SECRETS_FILE")
    if not path:
        return {}
    return secrets_file_values(Path(path))


class _Builder:
    """Turns a composed YAML node tree into Python data, recording lines and problems."""

    def __init__(self, doc: Document, env: dict[str, str] | None) -> None:
        self.doc = doc
        self.env = env
        self._constructor = yaml.SafeLoader("")
        self.values = 0

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise _TooLarge(node.start_mark.line + 1)
        self.doc.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._constructor.construct_object(key_node, deep=True)
                child = (*loc, key)
                if key in out:
                    first = self.doc.lines.get(child, 0)
                    self.doc.problems.append(
                        Problem(
                            str(self.doc.path),
                            key_node.start_mark.line + 1,
                            f"duplicate key (first defined on line {first}); remove one",
                            _dotted(child),
                        )
                    )
                self.doc.lines[child] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        value = self._constructor.construct_object(node, deep=True)
        if self.env is not None and isinstance(value, str) and "$" in value:
            return self._interpolate(value, node, loc)
        return value

    def _interpolate(self, value: str, node: yaml.Node, loc: Loc) -> str:
        assert self.env is not None
        env = self.env
        referenced = False
        defaulted = False

        def replace(match: re.Match[str]) -> str:
            nonlocal referenced, defaulted
            escaped, name, default = match.groups()
            if escaped:
                return match.group(0)[1:]
            referenced = True
            if name in os.environ:
                return os.environ[name]
            if name in env:
                return env[name]
            if default is not None:
                defaulted = True  # a default is written in YAML: never a secret's value
                return default
            if _UNSET_IS_BLANK.get():
                return ""
            self.doc.problems.append(
                Problem(
                    str(self.doc.path),
                    node.start_mark.line + 1,
                    f"environment variable {name} is not set; export it, add it to the secrets "
                    f"file (PARTNERPLAN_SECRETS_FILE), or write ${{{name}:-default}}",
                    _dotted(loc),
                )
            )
            return ""

        result = _ENV_REF.sub(replace, value)
        return EnvStr(result) if referenced and not defaulted else result


class _TooLarge(Exception):
    """The document expands past :data:`MAX_VALUES` (raised at the line where it does)."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def _decode(path: Path, data: bytes) -> str | Problem:
    """``data`` as text, or a problem at the line of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return Problem(
            str(path),
            line,
            f"not UTF-8 text (byte 0x{data[exc.start]:02X} at column {column}); save the file "
            "as UTF-8",
        )


def parse(path: Path, text: str | None = None, *, expand: bool = False) -> Document:
    """Parse one YAML file into a :class:`Document`; syntax problems land in ``problems``.

    Args:
        path: The file (also named in problems).
        text: Its content, when the caller has it already (a file being written).
        expand: Replace ``${VAR}`` references: for settings.yaml, and nothing else.
    """
    doc = Document(path=path, data=None)
    try:
        if text is None:
            size = path.stat().st_size
            if size > MAX_CONFIG_BYTES:
                doc.problems.append(
                    Problem(
                        str(path),
                        0,
                        f"file is {size / 1024 / 1024:.1f} MiB; config files are limited to "
                        f"{MAX_CONFIG_BYTES // 1024 // 1024} MiB: split it into several files",
                    )
                )
                return doc
            decoded = _decode(path, path.read_bytes())
            if isinstance(decoded, Problem):
                doc.problems.append(decoded)
                return doc
            text = decoded
    except OSError as exc:
        doc.problems.append(Problem(str(path), 0, f"cannot read file: {exc.__class__.__name__}"))
        return doc
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            doc.problems.append(
                Problem(str(path), number, "tab used for indentation; YAML needs spaces")
            )
    if doc.problems:
        return doc
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = mark.line + 1 if mark else 0
        reason = exc.problem or "invalid YAML"
        doc.problems.append(Problem(str(path), where, f"YAML syntax error: {reason}"))
        return doc
    if node is None:
        doc.problems.append(
            Problem(str(path), 1, "file is empty; add the settings it should hold or delete it")
        )
        return doc
    try:
        doc.data = _Builder(doc, _secrets_file() if expand else None).build(node, ())
    except _TooLarge as exc:
        doc.data = None
        doc.problems.append(
            Problem(
                str(path),
                exc.line,
                f"the document expands to more than {MAX_VALUES:,} values, through YAML aliases "
                "(&anchor / *alias) repeating each other; write the values out or split the file",
            )
        )
    return doc


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated/Union down to the first model-ish type."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in get_args(annotation):
            if arg is not type(None):
                inner = _unwrap(arg)
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    return inner
        return annotation
    return annotation


def allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names valid at ``loc`` inside ``model`` (best effort, for "did you mean")."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return []
            current = info.annotation
            continue
        origin = get_origin(current)
        args = get_args(current)
        if origin in (list, tuple) and args:
            current = args[0]
        elif origin is dict and len(args) == 2:
            current = args[1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [info.alias or name for name, info in current.model_fields.items()]
    return []


def _message(model: type[BaseModel], error: Any) -> str:
    loc: Loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        valid = allowed_keys(model, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        if hint:
            return f"unknown key {loc[-1]!r}; did you mean {hint[0]!r}?"
        return f"unknown key {loc[-1]!r}; valid keys here: {', '.join(sorted(valid)) or 'none'}"
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing; add it"
    msg = str(error["msg"])
    if msg.startswith("Value error, "):
        msg = msg.removeprefix("Value error, ")
    return msg


def _clean_loc(loc: Loc, data: Any) -> Loc:
    """Drop pydantic's synthetic loc parts (union tags, validator names) absent from the data.

    A part present in the data is kept; the last part is kept even when absent (it names a
    missing or unknown key); anything else is a tag pydantic inserted, e.g. a union member name.
    """
    out: list[str | int] = []
    cursor = data
    for index, part in enumerate(loc):
        present = (isinstance(cursor, dict) and part in cursor) or (
            isinstance(cursor, list) and isinstance(part, int) and 0 <= part < len(cursor)
        )
        if present:
            out.append(part)
            cursor = cursor[part]
        elif index == len(loc) - 1:
            out.append(part)
    return tuple(out)


def validate(doc: Document, model: type[M], context: dict[str, Any] | None = None) -> M | None:
    """Validate ``doc`` against ``model``; problems are appended to ``doc.problems``."""
    if doc.problems and doc.data is None:
        return None
    try:
        return model.model_validate(doc.data, context=context)
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            loc = _clean_loc(tuple(error["loc"]), doc.data)
            doc.problems.append(doc.problem(loc, _message(model, error)))
        return None


def load(
    path: Path, model: type[M], context: dict[str, Any] | None = None, *, expand: bool = False
) -> M:
    """Parse and validate one file, raising :class:`ConfigProblems` listing every problem.

    ``expand`` replaces ``${VAR}`` references, as for settings.yaml (see :func:`parse`).
    """
    doc = parse(path, expand=expand)
    result = validate(doc, model, context)
    errors = [p for p in doc.problems if p.severity == "error"]
    if errors or result is None:
        raise ConfigProblems(doc.problems)
    return result


def config_dir(explicit: Path | None = None) -> Path:
    """The config directory: ``--config``, else ``PARTNERPLAN_CONFIG``, else ``./config``."""
    if explicit is not None:
        return explicit
    env = os.environ.get("PARTNERPLAN_CONFIG")
    return Path(env) if env else Path("config")


def yaml_files(directory: Path) -> Iterator[Path]:
    """The ``*.yaml``/``*.yml`` files of a directory, sorted, or nothing if it does not exist."""
    if not directory.is_dir():
        return iter(())
    return iter(sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml")))
