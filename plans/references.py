"""Which (activity kind, attribute) pairs the metrics and plans can actually use.

``partnerplan validate`` compares this with what the mappings produce, so that a mapping
producing a kind no metric counts, or an attribute nothing reads, is caught before it runs.
"""

from __future__ import annotations

from plans.catalogue import Catalogue
from plans.planfile import PlanSet

NORMALIZED = frozenset(
    {"occurred_on", "created_at", "closed_at", "amount", "currency", "status", "partner_ref"}
)
"""Activity columns every mapping fills; metrics read them without naming an attribute."""
SHOWN_KIND = "fund"
"""Fund records are also listed in a plan's joint investment section (:mod:`plans.show`), which
shows any of their attributes (a title, the budget): none is unused."""


def _kinds(catalogue: Catalogue, key: str) -> set[str]:
    return {kind for metric in catalogue.components(key) for kind in metric.kinds}


def usable_references(catalogue: Catalogue, plans: PlanSet) -> set[tuple[str, str | None]]:
    """``(kind, None)`` for every kind a metric counts; ``(kind, attr)`` for attributes read."""
    pairs: set[tuple[str, str | None]] = {(SHOWN_KIND, "*")}
    for key in catalogue:
        for metric in catalogue.components(key):
            named = {metric.field, metric.start, metric.end, metric.date_basis, *metric.filters}
            attributes = {_attribute(a) for a in named if a is not None} - NORMALIZED
            for kind in metric.kinds:
                pairs.add((kind, None))
                pairs.update((kind, attribute) for attribute in attributes)
    targets = [t for plan in plans.plans for t in plan.targets]
    filters = [(t.metric, t.filters) for t in targets]
    for group in plans.groups:
        for section in group.template.sections:
            filters.extend((t.metric, t.filters) for t in section.targets)
    for metric_key, target_filters in filters:
        if metric_key in catalogue:
            for kind in _kinds(catalogue, metric_key):
                pairs.update((kind, _attribute(a)) for a in target_filters)
    return pairs


def _attribute(name: str) -> str:
    """Metrics may write ``attributes.contact`` or just ``contact``."""
    return name.removeprefix("attributes.")
