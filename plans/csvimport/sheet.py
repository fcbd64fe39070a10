"""Reading a sheet: its delimiter, its header, then its rows one at a time with their lines.

The delimiter is decided from the header line alone: the column names are ours and contain no
``,``, ``;`` or tab, so the separator that occurs most in that line is the one the sheet uses. A
sniffer that also looks at data rows is easily misled by them: a ``;`` sheet is exactly the kind
whose numbers hold commas (``12,5``). Rows are read lazily, so memory does not grow with the
file; a row is located at the line it starts on (a quoted cell may span several lines).
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from partnerplan.errors import ConfigProblems, ConfigurationError, Problem

REQUIRED = ("partner", "period", "metric", "value")
OPTIONAL = ("currency", "weight", "section", "plan", "status", "owner", "filter", "key")
COLUMNS = (*REQUIRED, *OPTIONAL)
DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class RawRow:
    """One non-blank row: its first line, its cells by column, and cells no column names."""

    line: int
    cells: dict[str, str]
    stray: tuple[int, ...] = ()


def detect_delimiter(header_line: str) -> str:
    """The separator among ``,``, ``;`` and tab that the header line uses most (``,`` if none)."""
    return max(DELIMITERS, key=header_line.count)


def _header(source: Path, names: list[str]) -> list[str | None]:
    """Column name per position (``None`` for a blank one); every header problem at once."""
    problems: list[Problem] = []
    columns: list[str | None] = []
    for name in (n.strip().lower() for n in names):
        if not name:
            columns.append(None)
        elif name in columns:
            problems.append(Problem(str(source), 1, f"column {name!r} appears twice; keep one"))
            columns.append(None)
        elif name not in COLUMNS:
            hint = difflib.get_close_matches(name, COLUMNS, n=1)
            tip = f"did you mean {hint[0]!r}?" if hint else f"the columns are {', '.join(COLUMNS)}"
            problems.append(Problem(str(source), 1, f"unknown column {name!r}; {tip}"))
            columns.append(None)
        else:
            columns.append(name)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        problems.append(
            Problem(
                str(source),
                1,
                f"the header lacks {', '.join(missing)}; the first line must name the columns, "
                f"at least {', '.join(REQUIRED)}",
            )
        )
    if problems:
        raise ConfigProblems(problems)
    return columns


_UNDECODED = re.compile("[\udc80-\udcff]")
"""What a byte that is not UTF-8 becomes when read with ``errors="surrogateescape"``."""
_NOT_UTF8 = "not UTF-8 text; save the sheet as CSV UTF-8"


@contextlib.contextmanager
def _reader(source: Path, delimiter: str | None) -> Iterator[Iterator[list[str]]]:
    """A CSV reader over ``source``, its delimiter given or detected from the first line.

    Bytes that are not UTF-8 are kept as lone surrogates rather than raised mid-buffer, so that
    :func:`read_rows` can name the line they are on.
    """
    with source.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        first = handle.readline()
        lines = itertools.chain([first], handle)
        yield csv.reader(lines, delimiter=delimiter or detect_delimiter(first))


def count_rows(source: Path, delimiter: str | None, most: int) -> int:
    """How many non-blank rows follow the header, counted up to ``most + 1`` and no further.

    Cheap (no cell is checked), so that a sheet too big to import is refused before the real
    reading starts; a sheet that is not CSV is counted up to that point, and :func:`read_rows`
    then reports where.
    """
    count = 0
    with contextlib.suppress(csv.Error), _reader(source, delimiter) as rows:
        for cells in itertools.islice(rows, 1, None):
            if "".join(cells).strip():
                count += 1
                if count > most:
                    break
    return count


def read_rows(source: Path, delimiter: str | None = None) -> Iterator[RawRow]:
    """The rows of ``source`` (UTF-8, with or without a BOM), blank ones skipped.

    Raises:
        ConfigProblems: a bad header (before any row), or a line that is not UTF-8 or not CSV
            (when reached; the rows before it have been yielded).
    """
    line = 0
    try:
        with _reader(source, delimiter) as rows:
            header = next(rows, [])
            if _UNDECODED.search("".join(header)):
                raise ConfigProblems([Problem(str(source), 1, _NOT_UTF8)])
            columns = _header(source, header)
            while True:
                line = rows.line_num + 1  # type: ignore[attr-defined]  # csv's reader type is private
                cells = next(rows, None)
                if cells is None:
                    return
                if _UNDECODED.search("".join(cells)):
                    raise ConfigProblems([Problem(str(source), line, _NOT_UTF8)])
                if any(cell.strip() for cell in cells):
                    yield _row(line, columns, cells)
    except csv.Error as exc:
        raise ConfigProblems(
            [Problem(str(source), line, f"not valid CSV ({exc}); check the quotes")]
        ) from None


def _row(line: int, columns: list[str | None], cells: list[str]) -> RawRow:
    named: dict[str, str] = {}
    stray: list[int] = []
    for position, cell in enumerate(cells):
        column = columns[position] if position < len(columns) else None
        if column is not None:
            named[column] = cell.strip()
        elif cell.strip():
            stray.append(position + 1)
    return RawRow(line, named, tuple(stray))


def delimiter_option(text: str) -> str:
    """``--delimiter``: one character, or ``tab`` / ``\\t`` for a tab.

    Raises:
        ConfigurationError: anything longer, with the forms accepted.
    """
    if text.lower() in ("tab", "\\t", "\t"):
        return "\t"
    if len(text) != 1 or text.isalnum() or text in '"\r\n ':
        raise ConfigurationError(
            f"--delimiter {text!r}: give one character such as , or ; (or tab); not a letter, "
            "digit, quote or space"
        )
    return text
