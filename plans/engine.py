"""The progress engine: every target of every computed plan, with one query per scope.

:func:`compute_progress` reads the targets to compute (one query), groups them into scopes
(metric, period, filters, currency), runs one grouped aggregate per scope for all partners at
once (:mod:`plans.evaluate`), turns each actual into progress
(:mod:`plans.pacing`) and writes only the progress rows whose fingerprint changed,
in one batched upsert, with the day's snapshots of those whose values changed in one more
(:mod:`plans.history`). The number of statements grows with the number of distinct scopes (and
the number of partner chunks), never with the number of plans. The caller commits.

**Chunks.** Partners are computed :data:`CHUNK_PARTNERS` at a time (a plan belongs to one
partner, so every plan is whole in its chunk): targets, actuals and rows to write are held
for one chunk only, and memory stays flat however large the program.

**Only what changed.** Given the sync's :class:`~plans.changes.Changes`, a target whose
partner had no change of a kind it reads, dated where its period can see it, keeps its stored
progress unread and unwritten; its plan's score counts it at its stored values.

Which plans: those whose status is in :data:`COMPUTED` (shared, changes requested, accepted,
active and closed: :mod:`plans.lifecycle` says why) and whose final numbers are not frozen.
Which targets: those the trust rule allows (:mod:`plans.trust`); any other keeps its last good
values, and its plan's score is not recomputed from the rest. A plan whose period has ended is
computed once more from data complete past its end, then frozen (``frozen_at``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import bindparam, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from plans import history
from plans.catalogue import Aggregate, Catalogue, Metric, Unit
from plans.changes import Changes
from plans.evaluate import Rates, Value, empty_value, evaluate
from plans.lifecycle import COMPUTED as LIFECYCLE_COMPUTED
from plans.pacing import Progress, plan_score, progress
from plans.periods import Period
from plans.queries import Scope
from plans.rates import CONFIG_SOURCE
from plans.store import FxRateRow, PlanRow, ProgressRow, TargetRow
from plans.target import TargetDefinition
from plans.trust import KindTrust, verdict

RATE_KIND = "rate"
"""The kind of activities that carry currency rates (a DatedConversionRate stream)."""

log = structlog.get_logger(__name__)
COMPUTED = LIFECYCLE_COMPUTED
"""Plan statuses whose progress is computed; a draft is not, and a frozen plan never again."""
_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
CHUNK_PARTNERS = 1_000
"""Partners computed at once: bounds the compute's memory (one aggregate per scope per chunk)."""


@dataclass
class ComputeResult:
    """What a compute did.

    Attributes:
        targets: Targets computed.
        changed_target_ids: Targets whose stored progress changed.
        statements: SQL statements issued.
        stale: Targets left at their last good values, with why (the trust rule).
        frozen_plan_ids: Plans whose period had ended, computed for the last time.
        unchanged: Targets the sync's changes could not move, left as stored.
    """

    targets: int
    changed_target_ids: set[int] = field(default_factory=set)
    statements: int = 0
    stale: dict[int, str] = field(default_factory=dict)
    frozen_plan_ids: set[int] = field(default_factory=set)
    unchanged: int = 0


@dataclass(frozen=True, kw_only=True)
class _Target(TargetDefinition):
    """A stored target as the engine computes it: with its plan's partner, period and the
    fingerprint and values of its last stored progress."""

    id: int
    plan_id: int
    partner_id: int | None
    period: Period
    fingerprint: str | None
    previous: history.Values | None = None
    previous_as_of: datetime | None = None
    previous_attainment: Decimal | None = None


@dataclass(frozen=True)
class _Selection:
    """Which plans to compute (None: no restriction)."""

    partner_ids: set[int] | None = None
    plan_keys: set[str] | None = None
    period_end_after: date | None = None
    no_partner: bool = False
    """Only plans without a partner yet (``partner_ids`` is then ignored)."""


def _where(query: Any, selection: _Selection) -> Any:
    query = query.where(col(PlanRow.status).in_(COMPUTED), col(PlanRow.frozen_at).is_(None))
    if selection.no_partner:
        query = query.where(col(PlanRow.partner_id).is_(None))
    elif selection.partner_ids is not None:
        query = query.where(col(PlanRow.partner_id).in_(sorted(selection.partner_ids)))
    if selection.plan_keys is not None:
        query = query.where(col(PlanRow.key).in_(sorted(selection.plan_keys)))
    if selection.period_end_after is not None:
        query = query.where(col(PlanRow.period_end) > selection.period_end_after)
    return query


def _chunks(session: Session, selection: _Selection, size: int) -> list[_Selection]:
    """The selection cut into chunks of ``size`` partners, plus one for partnerless plans."""
    if selection.partner_ids is not None:
        partners = sorted(selection.partner_ids)
        unlinked = False
    else:
        found = session.connection().execute(
            _where(select(col(PlanRow.partner_id)).distinct(), selection)
        )
        ids = {partner for (partner,) in found}
        unlinked = None in ids
        partners = sorted(p for p in ids if p is not None)
    out = [
        replace(selection, partner_ids=set(partners[start : start + size]))
        for start in range(0, len(partners), size)
    ]
    if unlinked:
        out.append(replace(selection, no_partner=True))
    return out


def _load_targets(
    session: Session, selection: _Selection
) -> tuple[list[_Target], dict[int, Decimal | None]]:
    query = (
        select(
            col(TargetRow.id),
            col(TargetRow.plan_id),
            col(PlanRow.partner_id),
            col(TargetRow.metric),
            col(TargetRow.value),
            col(TargetRow.currency),
            col(TargetRow.weight),
            col(TargetRow.filters),
            col(TargetRow.phasing),
            col(PlanRow.period),
            col(PlanRow.period_start),
            col(PlanRow.period_end),
            col(ProgressRow.fingerprint),
            col(PlanRow.score),
            col(ProgressRow.actual),
            col(ProgressRow.target),
            col(ProgressRow.status),
            col(ProgressRow.data_as_of),
            col(ProgressRow.attainment),
        )
        .join(PlanRow, col(PlanRow.id) == col(TargetRow.plan_id))
        .outerjoin(ProgressRow, col(ProgressRow.target_id) == col(TargetRow.id))
        .order_by(col(TargetRow.id))
    )
    query = _where(query, selection)
    targets: list[_Target] = []
    scores: dict[int, Decimal | None] = {}
    # Core rows, not ORM entities: 20,000 targets load in a fraction of the time.
    for row in session.connection().execute(query):
        (
            tid,
            pid,
            partner,
            metric,
            value,
            currency,
            weight,
            filters,
            phasing,
            name,
            start,
            end,
            fingerprint,
            score,
            last_actual,
            last_target,
            last_status,
            last_as_of,
            last_attainment,
        ) = row
        scores[pid] = score
        targets.append(
            _Target(
                id=tid,
                plan_id=pid,
                partner_id=partner,
                metric=metric,
                value=value,
                currency=currency,
                weight=weight,
                filters=filters or {},
                phasing=phasing or {},
                period=Period(start, end, name),
                fingerprint=fingerprint,
                previous=None if fingerprint is None else (last_actual, last_target, last_status),
                previous_as_of=last_as_of,
                previous_attainment=last_attainment,
            )
        )
    return targets, scores


def _scope(metric: Metric, target: _Target, reporting: str) -> Scope:
    currency = target.currency or (reporting if metric.unit is Unit.money else None)
    filters = json.dumps(target.filters, sort_keys=True)
    return Scope(metric.key, target.period.start, target.period.end, filters, currency)


def _component_scope(part: Metric, scope: Scope, reporting: str) -> Scope:
    currency = (scope.currency or reporting) if part.is_money else None
    return Scope(part.key, scope.start, scope.end, scope.filters, currency)


def _combine(metric: Metric, parts: list[Value]) -> Value:
    if metric.aggregate is not Aggregate.ratio:
        return parts[0]
    numerator, denominator = parts
    if numerator.value is None or not denominator.value:
        return Value(None, denominator.count)
    value = numerator.value / denominator.value
    return Value(value * 100 if metric.unit is Unit.percent else value, denominator.count)


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


def compute_progress(
    session: Session,
    catalogue: Catalogue,
    *,
    as_of: datetime,
    reporting_currency: str,
    thresholds: tuple[float, float] = (0.9, 0.7),
    partner_ids: set[int] | None = None,
    plan_keys: set[str] | None = None,
    period_end_after: date | None = None,
    rates_source: str = CONFIG_SOURCE,
    trust: Mapping[str, KindTrust] | None = None,
    history_retention_days: int | None = None,
    changes: Changes | None = None,
    chunk_partners: int | None = None,
) -> ComputeResult:
    """Compute and store the progress of every target of every computed plan.

    Args:
        session: the store; not committed here.
        catalogue: the metric definitions.
        as_of: the moment progress is computed for (aware UTC); paces expected-to-date.
        reporting_currency: currency of money metrics without one (ratios, amounts without
            a currency).
        thresholds: (on track, at risk) pace ratios.
        partner_ids: only plans of these partners (a sync touched them).
        plan_keys: only these plans.
        period_end_after: only plans whose period ends after this date. Pass the earliest
            date of any date basis a sync touched: an activity dated d can only change the
            plans whose period ends after d (cumulative metrics included).
        rates_source: which stored rates convert currencies (``config`` or a CRM stream).
        trust: per activity kind, whether its stored data is complete and as of when (the
            worker derives it from its streams); targets reading an untrusted kind keep their
            last good values. None trusts every kind, with ``data_as_of`` = ``as_of``.
        history_retention_days: when given, the history of periods that ended more than this
            many days before ``as_of`` is cut to their closing values
            (:func:`plans.history.prune`; one more statement).
        changes: what the sync changed, per partner and kind (:mod:`plans.changes`); targets
            it cannot have moved keep their stored progress. None computes every selected
            target.
        chunk_partners: partners computed at once (default :data:`CHUNK_PARTNERS`).
    """
    counter = _Counter()
    bind = session.connection()
    event.listen(bind, "before_cursor_execute", counter)
    try:
        selection = _Selection(partner_ids, plan_keys, period_end_after)
        result = ComputeResult(targets=0)
        rates = _rates(session, rates_source, reporting_currency)
        for chunk in _chunks(session, selection, chunk_partners or CHUNK_PARTNERS):
            part = _compute(
                session,
                catalogue,
                as_of,
                reporting_currency,
                thresholds,
                chunk,
                rates,
                trust,
                changes,
            )
            result.targets += part.targets
            result.changed_target_ids |= part.changed_target_ids
            result.stale.update(part.stale)
            result.frozen_plan_ids |= part.frozen_plan_ids
            result.unchanged += part.unchanged
        if history_retention_days is not None:
            cutoff = as_of.date() - timedelta(days=history_retention_days)
            history.prune(session, before=cutoff)
    finally:
        event.remove(bind, "before_cursor_execute", counter)
    result.statements = counter.count
    log.info(
        "progress computed",
        targets=result.targets,
        unchanged=result.unchanged,
        changed=len(result.changed_target_ids),
        stale=len(result.stale),
        frozen_plans=len(result.frozen_plan_ids),
        statements=result.statements,
    )
    return result


def _rates(session: Session, rates_source: str, reporting: str) -> Rates:
    return Rates(
        base=session.scalar(
            select(col(FxRateRow.base)).where(col(FxRateRow.source) == rates_source).limit(1)
        ),
        source=rates_source,
        default_currency=reporting,
    )


def _compute(
    session: Session,
    catalogue: Catalogue,
    as_of: datetime,
    reporting: str,
    thresholds: tuple[float, float],
    selection: _Selection,
    rates: Rates,
    trust: Mapping[str, KindTrust] | None,
    changes: Changes | None,
) -> ComputeResult:
    targets, old_scores = _load_targets(session, selection)
    known = [t for t in targets if t.metric in catalogue]
    for target in targets:
        if target.metric not in catalogue:
            log.warning("target skipped: unknown metric", target_id=target.id, metric=target.metric)
    result = ComputeResult(targets=0)
    planned: list[tuple[_Target, Metric, list[Scope]]] = []
    kept: list[_Target] = []
    data_as_of: dict[int, datetime | None] = {}
    for target in known:
        components = catalogue.components(target.metric)
        kinds = {k for part in components for k in part.kinds}
        if rates.source != CONFIG_SOURCE and any(part.is_money for part in components):
            kinds.add(RATE_KIND)  # converted with rates pulled from the CRM: they count too
        judged = verdict(kinds, trust)
        if not judged.trusted:
            result.stale[target.id] = judged.reason or "a stream it reads is not complete"
            continue
        # No stream feeds what it reads (data put in the store some other way): as of now.
        data_as_of[target.id] = judged.data_as_of or as_of
        if (
            changes is not None
            and target.previous is not None
            and target.period.end > as_of.date()  # an ended plan is computed before it freezes
            and not changes.moves(target.partner_id, components, target.period)
        ):
            kept.append(target)
            continue
        planned.append(_plan(catalogue, target, reporting))
    result.targets = len(planned)
    result.unchanged = len(kept)
    values = _evaluate_all(session, catalogue, planned, rates)
    rows, snapshots, by_plan = [], [], defaultdict(list)
    now = datetime.now(UTC)
    for target, metric, scopes in planned:
        if target.partner_id is None:
            # No partner linked yet: there is no data for it, which is not the same as zero.
            value = Value(None, 0)
        else:
            found = [
                values[scope].get(target.partner_id, empty_value(catalogue[scope.metric]))
                for scope in scopes
            ]
            value = _combine(metric, found)
        computed = progress(
            metric,
            actual=value.value,
            count=value.count,
            target=target.value,
            period=target.period,
            as_of=as_of,
            phasing=target.phasing,
            thresholds=thresholds,
        )
        by_plan[target.plan_id].append((target.weight, computed))
        version = catalogue.version(metric.key)
        fingerprint = computed.fingerprint(version, target.partner_id)
        if fingerprint != target.fingerprint:
            rows.append(_row(target, computed, version, fingerprint, now, data_as_of[target.id]))
        snapshot = history.snapshot_row(
            target.id, target.period, as_of, computed, target.previous, target.previous_as_of
        )
        if snapshot is not None:
            snapshots.append(snapshot)
    for target in kept:  # their plan's score counts them at their stored values
        if target.plan_id in by_plan and target.previous is not None:
            actual, goal, status = target.previous
            attained = target.previous_attainment
            stored = Progress(actual, goal, attained, None, None, None, status, 0)
            by_plan[target.plan_id].append((target.weight, stored))
    _write(session, rows)
    history.write(session, snapshots)
    partial_plans = {t.plan_id for t in known if t.id in result.stale}
    _write_scores(session, {k: v for k, v in by_plan.items() if k not in partial_plans}, old_scores)
    result.changed_target_ids = {r["target_id"] for r in rows}
    result.frozen_plan_ids = _freeze(session, known, partial_plans, data_as_of, as_of, now)
    return result


def _freeze(
    session: Session,
    targets: list[_Target],
    partial_plans: set[int],
    data_as_of: Mapping[int, datetime | None],
    as_of: datetime,
    now: datetime,
) -> set[int]:
    """Freeze the plans whose period ended and whose every target read data complete past it.

    Their numbers were just computed for the last time; freezing keeps them from changing as
    activities keep arriving after the period (a late edit in the CRM, a re-opened deal).
    """
    ended: dict[int, list[_Target]] = defaultdict(list)
    for target in targets:
        if target.period.end <= as_of.date() and target.plan_id not in partial_plans:
            ended[target.plan_id].append(target)
    final: set[int] = set()
    for plan_id, members in ended.items():
        closing = datetime(
            members[0].period.end.year,
            members[0].period.end.month,
            members[0].period.end.day,
            tzinfo=UTC,
        )
        times = [data_as_of.get(t.id) for t in members]
        if all(moment is not None and moment >= closing for moment in times):
            final.add(plan_id)
    if final:
        table = PlanRow.__table__  # type: ignore[attr-defined]
        session.connection().execute(
            update(table).where(table.c.id.in_(sorted(final))).values(frozen_at=now)
        )
    return final


def _plan(
    catalogue: Catalogue, target: _Target, reporting: str
) -> tuple[_Target, Metric, list[Scope]]:
    """A target with its metric and the scopes (one, or two for a ratio) it reads."""
    metric = catalogue[target.metric]
    scope = _scope(metric, target, reporting)
    return (
        target,
        metric,
        [_component_scope(p, scope, reporting) for p in catalogue.components(metric.key)],
    )


def _evaluate_all(
    session: Session,
    catalogue: Catalogue,
    planned: list[tuple[_Target, Metric, list[Scope]]],
    rates: Rates,
) -> dict[Scope, dict[int, Value]]:
    """One aggregate per distinct scope, over the partners whose targets need it."""
    partners: dict[Scope, set[int]] = defaultdict(set)
    for target, _, parts in planned:
        for scope in parts:
            bucket = partners[scope]
            if target.partner_id is not None:
                bucket.add(target.partner_id)
    values: dict[Scope, dict[int, Value]] = {}
    for scope, ids in partners.items():
        if not ids:
            values[scope] = {}
            continue
        metric = catalogue[scope.metric]
        values[scope] = evaluate(session, metric, scope, json.loads(scope.filters), ids, rates)
    return values


def _row(
    target: _Target,
    result: Progress,
    version: str,
    fingerprint: str,
    now: datetime,
    data_as_of: datetime | None,
) -> dict[str, Any]:
    return {
        "target_id": target.id,
        "plan_id": target.plan_id,
        "partner_id": target.partner_id,
        "actual": result.actual,
        "target": result.target,
        "attainment": result.attainment,
        "expected_to_date": result.expected_to_date,
        "forecast": result.forecast,
        "gap": result.gap,
        "status": result.status,
        "activity_count": result.activity_count,
        "metric_version": version,
        "computed_at": now,
        "data_as_of": data_as_of,
        "fingerprint": fingerprint,
    }


def _write(session: Session, rows: list[dict[str, Any]]) -> None:
    """One batched upsert (a single executemany) for every changed progress row."""
    if not rows:
        return
    table = ProgressRow.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    stmt = _INSERTS[connection.dialect.name](table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["target_id"],
        set_={c: stmt.excluded[c] for c in rows[0] if c != "target_id"},
    )
    connection.execute(stmt, rows)


def _write_scores(
    session: Session,
    by_plan: dict[int, list[tuple[Decimal, Progress]]],
    old: dict[int, Decimal | None],
) -> None:
    changed = []
    for plan_id, items in by_plan.items():
        score = plan_score(items)
        if score != old.get(plan_id):
            changed.append({"pid": plan_id, "score": score})
    if changed:
        table = PlanRow.__table__  # type: ignore[attr-defined]
        stmt = update(table).where(table.c.id == bindparam("pid")).values(score=bindparam("score"))
        session.connection().execute(stmt, changed)
