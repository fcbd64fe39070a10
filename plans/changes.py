"""What a sync changed, finely enough to recompute only the targets it can move.

A sync that changes 1 % of the activities touches nearly every partner (each has hundreds of
activities), so recomputing "the touched partners" is a full compute. Each changed activity
is noted as (partner, kind, date it is dated on), before and after the change; per partner
and kind the earliest and latest such date are kept. A target reads a few kinds over a period
(:mod:`plans.queries`): it can only move if one of its kinds changed for its partner, dated
before its period's end and, for a ``period`` window, on or after its start. Anything the
notes cannot vouch for is recomputed whole: a partner marked ``everything`` (linked, rates
changed, records purged) or not mentioned at all, a change without a date, a metric dated on
something other than ``occurred_on`` or measuring a duration.

The notes travel in run records (JSON): :meth:`Changes.to_json` / :meth:`Changes.from_json`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from plans.catalogue import Aggregate, Metric, Window
from plans.periods import Period

Span = tuple[date | None, date | None]
"""Earliest and latest date of a partner's changes of one kind; (None, None): undated."""
_OCCURRED = "occurred_on"


@dataclass
class Changes:
    """Changed activities per partner and kind (see the module docstring).

    Attributes:
        spans: partner id -> kind -> the span of dates changed.
        everything: Partners whose every target is recomputed.
    """

    spans: dict[int, dict[str, Span]] = field(default_factory=dict)
    everything: set[int] = field(default_factory=set)

    def note(self, partner_id: int | None, kind: str, on: date | None) -> None:
        """One activity of ``kind`` dated ``on`` changed for ``partner_id``."""
        if partner_id is None:
            return
        kinds = self.spans.setdefault(partner_id, {})
        if on is None:
            kinds[kind] = (None, None)
            return
        first, last = kinds.get(kind, (on, on))
        if first is None or last is None:
            return  # already undated: every period
        kinds[kind] = (min(first, on), max(last, on))

    def all_of(self, partner_ids: Iterable[int]) -> None:
        """Recompute every target of these partners."""
        self.everything.update(partner_ids)

    def add(self, other: Changes) -> None:
        """Merge ``other`` into this one."""
        self.everything |= other.everything
        for partner_id, kinds in other.spans.items():
            for kind, (first, last) in kinds.items():
                if first is None or last is None:
                    self.note(partner_id, kind, None)
                else:
                    self.note(partner_id, kind, first)
                    self.note(partner_id, kind, last)

    def partners(self) -> set[int]:
        """Every partner something changed for."""
        return set(self.spans) | self.everything

    def moves(self, partner_id: int | None, metrics: Iterable[Metric], period: Period) -> bool:
        """Whether a target of ``partner_id`` reading ``metrics`` over ``period`` may move."""
        if partner_id is None or partner_id in self.everything:
            return True
        kinds = self.spans.get(partner_id)
        if kinds is None:
            return True  # nothing noted for it: these notes cannot vouch for its targets
        for metric in metrics:
            for kind in metric.kinds:
                span = kinds.get(kind)
                if span is not None and _within(metric, span, period):
                    return True
        return False

    def to_json(self) -> dict[str, Any]:
        """The notes as JSON-ready data (a run's args or details)."""
        return {
            "everything": sorted(self.everything),
            "spans": {
                str(partner_id): {
                    kind: [_iso(first), _iso(last)] for kind, (first, last) in sorted(kinds.items())
                }
                for partner_id, kinds in sorted(self.spans.items())
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Changes | None:
        """Notes from :meth:`to_json`; None when there are none (recompute by partner)."""
        if not data:
            return None
        spans: dict[int, dict[str, Span]] = {}
        for partner_id, kinds in (data.get("spans") or {}).items():
            spans[int(partner_id)] = {
                kind: (_day(first), _day(last)) for kind, (first, last) in kinds.items()
            }
        return cls(spans, {int(p) for p in data.get("everything") or []})


def _within(metric: Metric, span: Span, period: Period) -> bool:
    first, last = span
    if first is None or last is None:
        return True
    if metric.date_basis != _OCCURRED or metric.aggregate is Aggregate.duration:
        return True  # the notes carry occurred_on dates only: assume the worst
    if first >= period.end:
        return False
    return metric.window is Window.cumulative or last >= period.start


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
