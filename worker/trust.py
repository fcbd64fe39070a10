"""From the streams' states to what the compute may trust, per activity kind (the trust rule).

A stream is trusted when its last pull completed and nothing has been stored since by a pull that
did not (``WatermarkRow.partial``); a stream that never completed a pull is not trusted. A kind
is trusted when every stream that maps records to it is, and its data is complete as of the
earliest of their last complete pulls. Kinds come from the mappings, which is why this lives in
the worker and not in ``plans``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlmodel import Session

from mappings.loader import MappingSet
from plans.trust import KindTrust
from worker import state


def kind_trust(session: Session, mappings: MappingSet) -> dict[str, KindTrust]:
    """Each mapped kind's :class:`KindTrust`, from the stored state of its streams."""
    stored = {(row.source, row.stream): row for row in state.states(session)}
    times: dict[str, list[datetime]] = defaultdict(list)
    stale: dict[str, list[str]] = defaultdict(list)
    for stream in mappings.streams.values():
        row = stored.get((stream.source, stream.name))
        if row is None or row.complete_at is None:
            stale[stream.kind].append(f"stream {stream.name} has not completed a pull yet")
        elif row.partial:
            stale[stream.kind].append(
                f"stream {stream.name} is partial: its last pull did not complete"
            )
        else:
            times[stream.kind].append(row.complete_at)
    out: dict[str, KindTrust] = {}
    for kind in set(times) | set(stale):
        reasons = stale.get(kind)
        complete = min(times[kind]) if times.get(kind) else None
        out[kind] = KindTrust(complete, "; ".join(reasons) if reasons else None)
    return out
