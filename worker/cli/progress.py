"""What ``partnerplan run`` draws while it works: one progress line per stream, retries included.

Bars are drawn only when stderr is a terminal. Anywhere else (cron, CI, a container, a pipe)
stderr carries JSON log lines only, and a bar redrawn between them would break every collector
that reads them; the summary table on stdout says the same at the end.

A CRM call being retried is shown on its stream's line (attempt, wait, reason) as it waits,
so an unreachable CRM is visible as such rather than as a spinner over "0 records".
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from partnerplan.logs import current_context


class BarObserver:
    """Draws one rich progress line per stream: records, pages, rate, the latest retry."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}
        self.pages: dict[str, int] = {}

    def stream_started(self, stream: str) -> None:
        """Add the stream's line."""
        self.pages[stream] = 0
        self.tasks[stream] = self.progress.add_task(stream, total=None, pages=0, note="")

    def page(self, stream: str, records: int) -> None:
        """Advance the stream's line by one page (and clear a retry note: it went through)."""
        self.pages[stream] = self.pages.get(stream, 0) + 1
        if stream in self.tasks:
            self.progress.update(
                self.tasks[stream], advance=records, pages=self.pages[stream], note=""
            )

    def retry(self, attempt: int, wait: float, reason: str) -> None:
        """Show a retry on the line of the stream being synced in this context."""
        stream = current_context().get("stream")
        if stream in self.tasks:
            note = f"retry {attempt}, waiting {wait:.0f} s: {reason[:60]}"
            self.progress.update(self.tasks[stream], note=note)

    def stream_finished(self, stream: str, outcome: str) -> None:
        """Freeze the stream's line with its outcome (the spinner stops)."""
        if stream in self.tasks:
            task = self.tasks[stream]
            done = self.progress.tasks[self._index(task)].completed
            # escaped: "[succeeded]" would otherwise be read as a Rich markup tag and vanish
            described = escape(f"{stream} [{outcome}]")
            # a total equal to what was done marks the line finished: its spinner stops
            self.progress.update(task, description=described, note="", total=done)
            self.progress.stop_task(task)

    def _index(self, task: TaskID) -> int:
        return next(i for i, t in enumerate(self.progress.tasks) if t.id == task)


class NoBars:
    """Draws nothing (stderr is not a terminal: it carries JSON lines only)."""

    def stream_started(self, stream: str) -> None:
        """Nothing to draw."""

    def page(self, stream: str, records: int) -> None:
        """Nothing to draw."""

    def retry(self, attempt: int, wait: float, reason: str) -> None:
        """Nothing to draw; the retry is logged."""

    def stream_finished(self, stream: str, outcome: str) -> None:
        """Nothing to draw."""


class RateColumn(ProgressColumn):
    """Records per second of a stream."""

    def render(self, task: Task) -> Text:
        """The task's speed, or a dash before it has one."""
        speed = task.finished_speed or task.speed
        return Text(f"{speed:>9,.0f} rec/s" if speed else "        - rec/s")


def progress_bars(console: Console) -> Progress:
    """The progress display of ``partnerplan run`` (disabled off a terminal)."""
    return Progress(
        SpinnerColumn(finished_text="•"),
        TextColumn("[bold]{task.description:<28}"),
        TextColumn("{task.completed:>10,.0f} records"),
        TextColumn("{task.fields[pages]:>6} pages"),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("[yellow]{task.fields[note]}"),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    )


def observer_for(progress: Progress) -> Any:
    """Bars on a terminal, nothing elsewhere."""
    return NoBars() if progress.disable else BarObserver(progress)
