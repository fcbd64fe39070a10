"""Printing a listing as a table, JSON or CSV: one function, so every listing honours --format.

A listing is a list of rows (dicts) and the columns to show. ``--format json`` prints the rows
as they are (values made JSON-safe), ``--format csv`` one header line then one line per row,
``--format table`` a Rich table on stdout (wide enough when piped).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from worker.cli.options import OutputFormat


@dataclass(frozen=True)
class Column:
    """One column of a listing: the row key, its heading, and how the table aligns it."""

    key: str
    heading: str = ""
    right: bool = False
    whole: bool = False
    """Never wrapped or cut (a link must stay one clickable line)."""

    @property
    def title(self) -> str:
        """The table heading (the key when none is given)."""
        return self.heading or self.key


def plain(value: Any) -> Any:
    """A JSON/CSV-safe value: Decimal and datetime as text, enums by value."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def console(stderr: bool = False) -> Any:
    """A Rich console; piped output gets a readable width instead of Rich's 80 columns."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160)


def emit(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column | str],
    fmt: OutputFormat,
    *,
    title: str = "",
    cells: Sequence[Sequence[str]] | None = None,
    footer: str | None = None,
) -> None:
    """Print ``rows`` in ``fmt``.

    Args:
        rows: The data; JSON prints every key of each row, CSV the ``columns``.
        columns: What CSV and the table show, in order.
        fmt: table, json or csv.
        title: The table's title.
        cells: The table's cells when they differ from the raw values (units, bars, colour);
            one sequence per row, in ``columns`` order.
        footer: A line printed under the table (never in JSON or CSV, which scripts read).
    """
    cols = [c if isinstance(c, Column) else Column(c) for c in columns]
    if fmt is OutputFormat.json:
        print(json.dumps([plain(dict(row)) for row in rows], indent=2))
        return
    if fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([c.key for c in cols])
        for row in rows:
            writer.writerow([_csv_cell(plain(row.get(c.key))) for c in cols])
        return
    from rich.table import Table

    table = Table(title=title or None)
    for column in cols:
        table.add_column(
            column.title,
            justify="right" if column.right else "left",
            overflow="ignore" if column.whole else "fold",
            no_wrap=column.whole,
        )
    body = cells if cells is not None else [[_text(row.get(c.key)) for c in cols] for row in rows]
    for line in body:
        table.add_row(*line)
    out = console()
    out.print(table)
    if footer:
        out.print(footer, markup=False, highlight=False)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "" if value is None else value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(plain(value))
