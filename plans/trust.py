"""The trust rule: a number is computed only from data that every stream it reads has completed.

DESIGN.md: "A number reaches a CRM only if every stream it depends on completed in that run (or
is unchanged since a complete one). Otherwise the target keeps its last good values and is
marked stale; ``data_as_of`` is the time of the last complete data, never now."

The engine does not know streams or mappings (they are the worker's); it is told, per activity
kind, whether what is stored of that kind can be trusted and as of when (:class:`KindTrust`).
A target depends on the kinds its metric reads (both parts of a ratio) and on the partner kind,
because partner streams decide which activities belong to which partner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

PARTNER_KIND = "partner"


@dataclass(frozen=True)
class KindTrust:
    """Whether the stored activities of one kind are complete, and as of when.

    Attributes:
        complete_at: Every record of this kind changed before this time is stored (the earliest
            start of its streams' last complete pulls); None when no stream feeds the kind.
        stale: Why numbers read from this kind cannot be trusted now (a stream that is partial
            or has never completed a pull), or None when they can.
    """

    complete_at: datetime | None
    stale: str | None = None


@dataclass(frozen=True)
class Verdict:
    """Whether one target may be computed now, and the time its data is complete as of."""

    trusted: bool
    data_as_of: datetime | None
    reason: str | None = None


def verdict(kinds: Iterable[str], trust: Mapping[str, KindTrust] | None) -> Verdict:
    """The verdict for a target reading ``kinds`` (the partner kind is always added).

    Without ``trust`` (a caller that computes from the store alone, as tests do) every kind is
    trusted and ``data_as_of`` is left to the caller.
    """
    if trust is None:
        return Verdict(True, None)
    reasons: list[str] = []
    times: list[datetime] = []
    for kind in sorted({*kinds, PARTNER_KIND}):
        state = trust.get(kind, KindTrust(None))
        if state.stale is not None:
            reasons.append(state.stale)
        elif state.complete_at is not None:
            times.append(state.complete_at)
    if reasons:
        return Verdict(False, None, "; ".join(dict.fromkeys(reasons)))
    return Verdict(True, min(times) if times else None)
