"""Printing a whole plan for people (``partnerplan plans show KEY``): a thin printer of
:class:`plans.show.PlanView`, which gathers the data (reports read the same view)."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from plans.show import PlanView, SectionView

_STATUS = {
    "draft": "dim",
    "shared": "cyan",
    "changes_requested": "yellow",
    "accepted": "green",
    "active": "bold green",
    "closed": "blue",
    "achieved": "bold green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "no_data": "dim",
}


def _fmt(value: Decimal | None, currency: str | None = None) -> str:
    if value is None:
        return ""
    text = f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    return f"{text} {currency}" if currency else text


def _status(status: str | None) -> Text:
    if status is None:
        return Text("")
    return Text(status.replace("_", " "), style=_STATUS.get(status, ""))


def _header(view: PlanView) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    partner = f"{view.partner} ({view.partner_name})" if view.partner_name else view.partner
    grid.add_row("partner", partner)
    grid.add_row("period", f"{view.period}: {view.start} to {view.end}")
    line = Text.assemble(_status(view.status), f"  version {view.version}")
    if view.locked and view.accepted_version is not None:
        line.append(
            f"  (progress measured on accepted version {view.accepted_version} until the "
            "partner accepts this one)",
            style="yellow",
        )
    grid.add_row("status", line)
    if view.accepted_version is not None:
        who = view.accepted_by_name or view.accepted_by or "declared in the plan file"
        when = f" at {view.accepted_at:%Y-%m-%d %H:%M} UTC" if view.accepted_at else ""
        grid.add_row("accepted", f"version {view.accepted_version} by {who}{when}")
    grid.add_row("origin", view.origin)
    if view.owner:
        grid.add_row("owner", view.owner)
    if view.score is not None:
        grid.add_row("score", f"{view.score * 100:.0f}%")
    if view.summary:
        grid.add_row("summary", view.summary)
    for attachment in view.attachments:
        where = attachment.get("path") or attachment.get("url")
        grid.add_row("attachment", f"{attachment['title']}: {where}")
    return grid


def _section(section: SectionView) -> Panel:
    parts: list[Table | Text] = []
    if section.summary:
        parts.append(Text(section.summary, style="italic"))
    if section.targets:
        table = Table(title="targets", title_justify="left", expand=True)
        for column in ("target", "value", "proposed", "actual", "attainment", "status"):
            table.add_column(column, justify="right" if column != "target" else "left")
        for t in section.targets:
            table.add_row(
                t.label if t.key == t.metric else f"{t.label} [{t.key}]",
                _fmt(t.value, t.currency),
                _fmt(t.proposed, t.currency),
                _fmt(t.actual, t.currency),
                "" if t.attainment is None else f"{t.attainment * 100:.0f}%",
                Text.assemble(_status(t.status), (" (stale)", "red") if t.stale else ""),
            )
        parts.append(table)
    if section.actions:
        table = Table(title="action items", title_justify="left", expand=True)
        for column in ("what", "side", "owner", "due", "status"):
            table.add_column(column)
        for a in section.actions:
            table.add_row(a.title, a.owner_side, a.owner or "", str(a.due or ""), a.status)
        parts.append(table)
    if section.investments:
        table = Table(title="joint investment", title_justify="left", expand=True)
        for column in ("line", "amount", "vendor share", "status", "source"):
            table.add_column(column)
        for i in section.investments:
            share = "" if i.vendor_share is None else f"{i.vendor_share:.0f}%"
            source = i.source if i.source_record is None else f"{i.source} {i.source_record}"
            table.add_row(i.title, _fmt(i.amount, i.currency), share, i.status, source)
        parts.append(table)
    if section.accounts:
        names = ", ".join(a.name + (f" ({a.notes})" if a.notes else "") for a in section.accounts)
        parts.append(Text(f"target accounts: {names}"))
    title = f"{section.name} [dim]({section.kind.replace('_', ' ')})[/]"
    return Panel(Group(*parts) if parts else Text(""), title=title, title_align="left")


def print_plan(view: PlanView, console: Console) -> None:
    """The plan, top to bottom: header, open change requests, conflicts, sections."""
    console.print(Panel(_header(view), title=f"[bold]{view.title}[/] ({view.key})"))
    for request in view.change_requests:
        who = request.by_name or request.by or "the partner"
        console.print(
            f"[yellow]change requested[/] on version {request.version} by {who} at "
            f"{request.at:%Y-%m-%d %H:%M} UTC: {request.comment}",
            highlight=False,
        )
    for source, conflict in sorted(view.conflicts.items()):
        fields = ", ".join(
            f"{name}: CRM {v.get('crm')!r}, config {v.get('pushed')!r}"
            for name, v in sorted((conflict.get("fields") or {}).items())
        )
        console.print(
            f"[red]conflict[/] in {source}: the plan's record was edited there ({fields}); "
            f"not overwritten until config and CRM agree or `partnerplan plans resolve "
            f"{view.key}`",
            highlight=False,
        )
    for section in view.sections:
        console.print(_section(section))
