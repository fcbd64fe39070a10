"""Cross-checking mappings against the metric catalogue: kinds and attributes no metric can use.

The catalogue lives in ``plans`` (to the right of this package), so the caller passes what the
metrics use as plain pairs; ``partnerplan validate`` runs this once both are loaded.
"""

from __future__ import annotations

from mappings.kinds import NOT_COUNTED
from mappings.loader import MappingSet
from partnerplan.errors import Problem

ANY_ATTRIBUTE = "*"


def unusable_references(
    mappings: MappingSet,
    usable: set[tuple[str, str | None]],
    severity: str = "error",
) -> list[Problem]:
    """Problems for each mapped kind or attribute that no metric can use.

    Args:
        mappings: The loaded mappings.
        usable: ``(kind, attribute)`` pairs the metrics use: ``(kind, None)`` for a kind whose
            metrics read only the normalized fields, ``(kind, "*")`` when metrics (or plan
            target filters) may use any attribute of that kind.
        severity: ``"error"`` (validate fails) or ``"warning"``.

    Returns:
        One problem per unusable reference, at the line of the ``kind`` or attribute key.
    """
    kinds = {kind for kind, _ in usable}
    problems: list[Problem] = []
    for stream in mappings.streams.values():
        if stream.kind in NOT_COUNTED:  # partners, rates, plans: not activities metrics count
            continue
        if stream.kind not in kinds:
            problems.append(
                Problem(
                    stream.file,
                    stream.lines.get("kind", 1),
                    f"kind {stream.kind!r} is used by no metric; define a metric for it in "
                    "metrics.yaml or remove this stream",
                    f"{stream.name}.kind",
                    severity,
                )
            )
            continue
        if (stream.kind, ANY_ATTRIBUTE) in usable:
            continue
        for rule in stream.attributes:
            if (stream.kind, rule.name) in usable:
                continue
            problems.append(
                Problem(
                    stream.file,
                    stream.lines.get(f"attributes.{rule.name}", 1),
                    f"attribute {rule.name!r} of kind {stream.kind!r} is used by no metric; "
                    "remove it, or use it in a metric's filter or grouping in metrics.yaml",
                    f"{stream.name}.attributes.{rule.name}",
                    severity,
                )
            )
    return problems
