"""What a report shows, as plain values: built from the store by :mod:`report.load`, read by the
templates. Nothing here queries anything.

Plan content that the store does not hold yet (the plan's version, who accepted it and when, the
partner's response, joint investment lines) is carried as optional values, ``None`` until the
joint-plan work records them: the page then says "not recorded yet" instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from plans.pacing import AT_RISK, OFF_TRACK, Progress
from plans.periods import Period

STATUSES = ("achieved", "on_track", "at_risk", "off_track", "no_data")
"""Progress statuses, best first: the order of every status table and chart."""
TARGETS_PER_PAGE = 4
"""Target cards on one printed page: each card (figures and trend chart) is a quarter of A4."""


class StreamFreshness(Protocol):
    """A stream's last successful sync (what :mod:`worker.freshness` reports)."""

    @property
    def source(self) -> str: ...
    @property
    def stream(self) -> str: ...
    @property
    def last_success_at(self) -> datetime | None: ...
    @property
    def watermark(self) -> datetime | None: ...
    @property
    def last_outcome(self) -> str | None: ...
    @property
    def stale(self) -> bool: ...


@dataclass(frozen=True)
class TrendPoint:
    """A target on one day of its history: the recorded values and the pace due by then."""

    day: date
    actual: Decimal | None
    expected: Decimal | None
    status: str
    final: bool = False


@dataclass(frozen=True)
class TargetView:
    """One target as a report shows it: what it measures, where it stands, how it got there."""

    id: int
    key: str
    metric: str
    label: str
    detail: str
    unit: str
    currency: str | None
    additive: bool
    value: Decimal
    period: Period
    progress: Progress | None
    data_as_of: datetime | None
    trend: tuple[TrendPoint, ...] = ()
    pace: tuple[tuple[date, Decimal], ...] = ()
    before: TrendPoint | None = None
    """The latest snapshot on or before the report's ``since`` date (None: none that old)."""

    @property
    def name(self) -> str:
        """The label, with what tells two targets of one metric apart."""
        return f"{self.label} ({self.detail})" if self.detail else self.label

    @property
    def status(self) -> str:
        """The current status (``no_data`` before the first compute)."""
        return self.progress.status if self.progress is not None else "no_data"

    @property
    def actual(self) -> Decimal | None:
        """The current actual."""
        return self.progress.actual if self.progress is not None else None

    @property
    def changed(self) -> bool:
        """Whether the actual or status differ from the ``before`` snapshot (or it has none)."""
        if self.before is None:
            return bool(self.trend)
        return (self.before.actual, self.before.status) != (self.actual, self.status)

    @property
    def needs_attention(self) -> bool:
        """Off track or at risk."""
        return self.status in (OFF_TRACK, AT_RISK)


@dataclass(frozen=True)
class ActionItem:
    """Something one side committed to do."""

    title: str
    due: date | None
    owner: str | None
    status: str
    overdue: bool


@dataclass(frozen=True)
class Investment:
    """One line of joint investment (who funds what, how much)."""

    title: str
    amount: Decimal | None
    currency: str | None
    funded_by: str | None


@dataclass(frozen=True)
class Link:
    """An attachment: a titled link (the signed plan, a deck)."""

    title: str
    url: str


@dataclass(frozen=True)
class PlanContent:
    """What the joint-plan work records about a plan; ``None`` = not recorded yet."""

    version: str | None = None
    accepted_by: str | None = None
    accepted_at: datetime | None = None
    response: str | None = None
    response_comment: str | None = None
    investments: tuple[Investment, ...] | None = None


@dataclass(frozen=True)
class SectionView:
    """A section of the plan with its summary, targets, target accounts and action items."""

    name: str
    summary: str
    targets: tuple[TargetView, ...]
    target_accounts: tuple[str, ...] = ()
    action_items: tuple[ActionItem, ...] = ()

    def pages(self, size: int = TARGETS_PER_PAGE) -> list[tuple[TargetView, ...]]:
        """The targets in printed pages of ``size`` (so each page fits one sheet)."""
        return [self.targets[i : i + size] for i in range(0, len(self.targets), size)]


@dataclass(frozen=True)
class PartnerView:
    """The partner a plan is with (``linked``: the partner is in the store)."""

    key: str
    name: str
    tier: str | None = None
    region: str | None = None
    linked: bool = True


@dataclass(frozen=True)
class PlanReport:
    """Everything one plan's QBR page shows."""

    key: str
    partner: PartnerView
    period: Period
    status: str
    owner: str | None
    score: Decimal | None
    sections: tuple[SectionView, ...]
    attachments: tuple[Link, ...]
    content: PlanContent
    freshness: tuple[StreamFreshness, ...]
    since: date
    generated_at: datetime
    stale_after: timedelta

    @property
    def last_day(self) -> date:
        """The period's last day (its end is exclusive)."""
        return self.period.end - timedelta(days=1)

    @property
    def targets(self) -> list[TargetView]:
        """Every target, in section order."""
        return [t for s in self.sections for t in s.targets]

    @property
    def last_change(self) -> datetime | None:
        """When a compute last changed any target's progress (``data_as_of`` of that compute)."""
        stamps = [t.data_as_of for t in self.targets if t.data_as_of is not None]
        return max(stamps) if stamps else None

    @property
    def last_sync(self) -> datetime | None:
        """The oldest of the streams' last successful syncs: all data is at least this recent."""
        stamps = [f.last_success_at for f in self.freshness]
        if not stamps or None in stamps:
            return None
        return min(s for s in stamps if s is not None)

    @property
    def status_counts(self) -> dict[str, int]:
        """Targets by status, best first (statuses without targets left out)."""
        counts = {s: 0 for s in STATUSES}
        for target in self.targets:
            counts[target.status] = counts.get(target.status, 0) + 1
        return {s: n for s, n in counts.items() if n}

    @property
    def changes(self) -> list[TargetView]:
        """The targets whose actual or status changed since ``since``."""
        return [t for t in self.targets if t.changed]

    @property
    def history_starts(self) -> date | None:
        """The first day any target has a snapshot."""
        days = [t.trend[0].day for t in self.targets if t.trend]
        return min(days) if days else None

    @property
    def action_items(self) -> list[tuple[str, ActionItem]]:
        """Every action item with its section's name."""
        return [(s.name, a) for s in self.sections for a in s.action_items]

    @property
    def target_accounts(self) -> list[tuple[str, str]]:
        """Every target account with its section's name."""
        return [(s.name, a) for s in self.sections for a in s.target_accounts]

    @property
    def stale_streams(self) -> list[StreamFreshness]:
        """Streams whose last successful sync is too old."""
        return [f for f in self.freshness if f.stale]

    @property
    def target_pages(self) -> list[tuple[SectionView, tuple[TargetView, ...], bool]]:
        """(section, its targets on the page, continued) for each printed page of targets."""
        return [
            (section, chunk, index > 0)
            for section in self.sections
            for index, chunk in enumerate(section.pages())
        ]


@dataclass(frozen=True)
class PlanSummary:
    """One plan as the portfolio lists it."""

    key: str
    file: str
    partner: PartnerView
    period: str
    status: str
    score: Decimal | None
    counts: dict[str, int]
    targets: int
    last_change: datetime | None

    @property
    def computed(self) -> int:
        """Targets with progress."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class Group:
    """Attainment of a group of targets or plans (a tier, a metric)."""

    name: str
    count: int
    median: Decimal | None
    on_track: int
    """Targets (or plans) achieved or on track."""


@dataclass(frozen=True)
class Portfolio:
    """The dashboard across partners."""

    plans: tuple[PlanSummary, ...]
    attention: tuple[tuple[PlanSummary, TargetView], ...]
    status_counts: dict[str, int]
    plan_status_counts: dict[str, int]
    by_tier: tuple[Group, ...]
    by_metric: tuple[Group, ...]
    freshness: tuple[StreamFreshness, ...]
    generated_at: datetime
    stale_after: timedelta
    attention_total: int = 0

    @property
    def awaiting(self) -> list[PlanSummary]:
        """Plans shared with the partner and not accepted yet (changes requested included)."""
        return [p for p in self.plans if p.status in ("shared", "changes_requested")]

    @property
    def uncomputed(self) -> list[PlanSummary]:
        """Active plans with targets that have no progress yet."""
        return [p for p in self.plans if p.status == "active" and p.computed < p.targets]

    @property
    def stale_streams(self) -> list[StreamFreshness]:
        """Streams whose last successful sync is too old."""
        return [f for f in self.freshness if f.stale]

    @property
    def last_sync(self) -> datetime | None:
        """The oldest of the streams' last successful syncs (None: one never synced)."""
        stamps = [f.last_success_at for f in self.freshness]
        if not stamps or None in stamps:
            return None
        return min(s for s in stamps if s is not None)
