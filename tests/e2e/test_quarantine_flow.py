"""A record quarantined by a strict mapping is stored and counted once the mapping is fixed."""

from __future__ import annotations

from decimal import Decimal

from tests.e2e.conftest import Flow, won_q4_deal
from worker.cli import run as cli


def test_quarantine_retry_after_a_mapping_fix_stores_the_record_and_recomputes(make_flow, capsys):
    """An opportunity without CloseDate waits in quarantine, then lands and its plans move."""
    flow = make_flow()
    assert flow.run() == 0
    deal = won_q4_deal(flow, "P-00001")
    flow.sandbox.touch("salesforce", "Opportunity", [deal["Id"]], {"CloseDate": None})
    assert flow.run("--stream", "sf_opportunities") == 0
    sync = [r for r in flow.runs() if r.stream == "sf_opportunities"][-1]
    assert sync.records_quarantined == 1

    mapping = flow.config / "mappings" / "salesforce.yaml"
    mapping.write_text(
        mapping.read_text().replace(
            "      occurred_on: {field: CloseDate, required: true}\n",
            "      occurred_on:\n        first_of:\n"
            "          - {field: CloseDate, type: date}\n"
            "          - {field: CreatedDate, type: date}\n        required: true\n",
            1,
        )
    )
    won_before = _won_revenue(flow)
    capsys.readouterr()
    args = [
        "quarantine",
        "retry",
        "--config",
        str(flow.config),
        "--database-url",
        flow.database_url,
    ]
    assert cli(args) == 0
    out = capsys.readouterr().out
    compute = [
        r for r in flow.runs() if r.trigger == "quarantine-retry" and r.stage == "compute_progress"
    ]
    assert "1 records mapped and stored, 0 still quarantined" in out
    assert [r.outcome for r in compute] == ["succeeded"]
    assert _won_revenue(flow) < won_before  # the deal now falls in its created date's period


def _won_revenue(flow: Flow) -> Decimal:
    return next(
        Decimal(p["actual"])
        for p in flow.progress()
        if p["plan"] == "P-00001-2026-Q4" and p["target_key"] == "won_revenue"
    )
