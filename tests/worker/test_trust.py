"""From the streams' stored state to what the compute may trust, per kind."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from mappings.loader import load_mappings
from plans.trust import KindTrust
from tests.mappings.conftest import SHIPPED
from worker import state
from worker.trust import kind_trust

T1, T2 = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC)


def test_a_kind_is_trusted_only_when_every_stream_feeding_it_completed(engine):
    """Complete everywhere: the earliest completion; one partial or never-synced stream: stale."""
    mappings, _ = load_mappings(SHIPPED)
    assert mappings is not None
    with Session(engine) as session:
        for stream in mappings.streams.values():
            state.completed(session, stream.source, stream.name, T2)
        state.completed(session, "salesforce", "sf_opportunities", T1)
        complete = kind_trust(session, mappings)
        state.mark_partial(session, "hubspot", "hs_deals")
        partial = kind_trust(session, mappings)
    assert complete["opportunity"] == KindTrust(T1)
    assert complete["lead"] == KindTrust(T2)
    assert (
        partial["opportunity"].stale == "stream hs_deals is partial: its last pull did not complete"
    )
    assert partial["lead"] == KindTrust(T2)


def test_a_stream_that_never_completed_is_not_trusted(engine):
    """Before its first complete pull a stream's kind cannot be trusted."""
    mappings, _ = load_mappings(SHIPPED)
    assert mappings is not None
    with Session(engine) as session:
        trust = kind_trust(session, mappings)
    assert trust["partner"].stale is not None
    assert "has not completed a pull yet" in trust["partner"].stale
