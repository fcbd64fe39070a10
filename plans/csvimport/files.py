"""Validating the merged plans file with the rest of config, then replacing the real file.

Nothing reaches the config directory until the whole directory, with the new file in it, loads
through the same loader ``partnerplan validate`` uses: the caller passes that loader, and it runs
on a temporary copy of the directory. The loader's problems are translated back: paths into the
copy become paths into config, and a line of the new file becomes the line of the sheet that
wrote it. Then the file is replaced atomically (a temporary file in the same directory, flushed
to disk, renamed over the old one), so a crash leaves either the old file or the new one.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import re
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from partnerplan.errors import ConfigProblems, ConfigurationError, Problem
from plans.csvimport.importer import ImportResult

_TARGET_COLUMNS = {name: name for name in ("metric", "value", "currency", "weight", "key")}
_TARGET_COLUMNS["filters"] = "filter"
_PLAN_COLUMNS = {name: name for name in ("partner", "period", "status", "owner")}
_PLAN_COLUMNS["key"] = "plan"
_FIELD = re.compile(r"plans\[\d+\](\.sections\[\d+\]\.targets\[\d+\])?\.(\w+)")


def _column(key: str) -> str:
    """The sheet column for a loader key such as ``plans[2].sections[0].targets[1].value``."""
    match = _FIELD.match(key)
    if match is None:
        return ""
    return (_TARGET_COLUMNS if match[1] else _PLAN_COLUMNS).get(match[2], "")


class _Relocate:
    """Maps problems found in the temporary copy back onto config and the sheet."""

    def __init__(self, copy: Path, root: Path, result: ImportResult) -> None:
        self.copy, self.root, self.result = str(copy), str(root), result
        self._lines: list[int] = []
        self._origins: list[int] = []

    def _sheet_line(self, line: int) -> int | None:
        if not self._lines:
            mapped = sorted(self.result.document.sheet_lines(self.result.text).items())
            self._lines = [yaml_line for yaml_line, _ in mapped]
            self._origins = [sheet_line for _, sheet_line in mapped]
        index = bisect.bisect_right(self._lines, line) - 1
        return (self._origins[index] or None) if index >= 0 else None

    def _message(self, message: str) -> str:
        message = message.replace(self.copy, self.root)
        output = re.escape(str(self.result.output))

        def to_sheet(match: re.Match[str]) -> str:
            line = self._sheet_line(int(match[1]))
            return f"{self.result.source}:{line}" if line else match[0]

        return re.sub(rf"{output}:(\d+)", to_sheet, message)

    def __call__(self, problem: Problem) -> Problem:
        file = problem.file.replace(self.copy, self.root, 1)
        message = self._message(problem.message)
        if Path(file) != self.result.output:
            return Problem(file, problem.line, message, problem.key, problem.severity)
        line = self._sheet_line(problem.line)
        if line is None:
            note = " (in the file as the import would write it)"
            return Problem(file, problem.line, message + note, problem.key, problem.severity)
        source = str(self.result.source)
        return Problem(source, line, message, _column(problem.key), problem.severity)


def _yaml_only(directory: str, names: list[str]) -> set[str]:
    """What :func:`shutil.copytree` skips: hidden entries and files that are not YAML.

    The loader reads only YAML, and a config directory may hold much more (a SQLite store when
    partnerplan runs from inside it, a ``.git``); copying those would only cost time.
    """
    folder = Path(directory)
    return {
        name
        for name in names
        if name.startswith(".")
        or (Path(name).suffix not in (".yaml", ".yml") and not (folder / name).is_dir())
    }


def validate_in_copy(root: Path, result: ImportResult, load: Callable[[Path], object]) -> None:
    """Load a copy of config ``root`` holding the merged file with ``load``; raise its errors.

    Raises:
        ConfigProblems: the loader's errors (its warnings are the config's own business),
            located in config or in the sheet.
    """
    with tempfile.TemporaryDirectory(prefix="partnerplan-import-") as tmp:
        copy = Path(tmp) / root.name
        shutil.copytree(root, copy, ignore=_yaml_only)
        written = copy / result.output.relative_to(root)
        written.parent.mkdir(parents=True, exist_ok=True)
        written.write_text(result.text, encoding="utf-8")
        try:
            load(copy)
        except ConfigProblems as exc:
            relocate = _Relocate(copy, root, result)
            errors = [relocate(p) for p in exc.problems if p.severity == "error"]
            raise ConfigProblems([*errors, *result.warnings]) from None


def write_atomically(result: ImportResult) -> None:
    """Replace (or create) the plans file with the merged text, all at once.

    Raises:
        ConfigurationError: the file changed since the import read it (someone edited it).
    """
    path, before = result.output, result.document.stat
    now = path.stat() if path.exists() else None
    if (before is None) != (now is None) or (
        before and now and (before.st_mtime_ns, before.st_size) != (now.st_mtime_ns, now.st_size)
    ):
        raise ConfigurationError(f"{path} changed while importing; run the import again")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(result.text)
            handle.flush()
            os.fsync(handle.fileno())
        if before is not None:
            temporary.chmod(stat.S_IMODE(before.st_mode))
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # the rename's own durability; not on every platform
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
