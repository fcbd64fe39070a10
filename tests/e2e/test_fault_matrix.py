"""The fault matrix: each CRM fault against a whole `partnerplan run`, then one more run after it.

For every fault the sandbox can inject, a run on an empty store must:

* exit as the fault deserves: 0 when retries absorb it, 1 when a stream stops short or a write
  is rejected (the summary says which);
* never put a number in a CRM progress record that a clean run would not put there: a record is
  either absent or equal to the clean reference run's (the trust rule);
* and, once the fault is cleared, one more run makes the store hold exactly the CRM's live
  records and every progress record equal to the reference.

Retries are configured short (``retries:`` in settings.yaml) so that a fault that outlasts them
fails in a second, not in two minutes; the clock is frozen (pace is computed per day).
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlmodel import Session, col

from plans.store import ActivityRow
from tests.e2e.conftest import AS_OF, Flow, make_flow_factory
from worker import jobs
from worker.cli import run as cli

SF_FIELDS = (
    "Target__c",
    "Actual__c",
    "Attainment__c",
    "Expected_To_Date__c",
    "Gap__c",
    "Status__c",
)
HS_FIELDS = ("target", "actual", "attainment", "expected_to_date", "gap", "status")
STREAMS = {  # stream → (server, object) whose live records it holds
    "sf_partners": ("salesforce", "Account"),
    "sf_opportunities": ("salesforce", "Opportunity"),
    "sf_leads": ("salesforce", "Lead"),
    "sf_deal_registrations": ("salesforce", "Deal_Registration__c"),
    "sf_marketing": ("salesforce", "Partner_Marketing_Activity__c"),
    "hs_partners": ("hubspot", "companies"),
    "hs_deals": ("hubspot", "deals"),
    "hs_deal_registrations": ("hubspot", "deal_registrations"),
}

FAULTS: dict[str, tuple[dict[str, dict[str, Any]], int]] = {
    # name: ({server: fault spec}, exit code of the faulty run)
    "429s": (
        {
            "salesforce": {"rate_limit_after": 4, "rate_limit_count": 2},
            "hubspot": {
                "rate_limit_after": 4,
                "rate_limit_count": 2,
                "rate_limit_policy": "SECONDLY",
            },
        },
        0,
    ),
    "5xx storm": (
        {
            "salesforce": {"server_error_after": 3, "server_error_count": 2},
            "hubspot": {"server_error_after": 3, "server_error_count": 2},
        },
        0,
    ),
    "salesforce 401 expiry": ({"salesforce": {"expire_session_after": 6}}, 0),
    "hubspot 401": ({"hubspot": {"expire_session_after": 4}}, 1),
    "query timeouts": ({"salesforce": {"query_timeout": ["Opportunity"]}}, 1),
    "daily budget": ({"salesforce": {"api_budget": 20}, "hubspot": {"api_budget": 20}}, 1),
    "short pages": ({"salesforce": {"short_pages": 2}, "hubspot": {"short_pages": 2}}, 0),
    "invalid locators": ({"salesforce": {"page_size": 50, "invalid_locator_after": 1}}, 0),
    "concurrent edits": (
        {
            "salesforce": {
                "page_size": 50,
                "change_after_page": 1,
                "change_object": "Opportunity",
                "change_count": 5,
            }
        },
        0,
    ),
    "partial write failures": ({"salesforce": {"fail_every": 7}, "hubspot": {"fail_every": 7}}, 1),
}


STREAM_STOPPED = {"hubspot 401", "query timeouts", "daily budget"}
"""Faults that leave a stream incomplete (the others are retried away, or reject writes)."""


def _fast_retries(flow: Flow) -> None:
    path = flow.config / "settings.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["retries"] = {
        "attempts": 3,
        "first_wait_seconds": 0.01,
        "max_wait_seconds": 0.02,
        "give_up_after_seconds": 10,
    }
    for source in settings["sources"].values():
        source["budget_share"] = 1.0
    path.write_text(yaml.safe_dump(settings, sort_keys=False))


def _value(value: Any) -> Any:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).normalize()
    except (InvalidOperation, ValueError):
        return str(value)


def crm_progress(flow: Flow) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Every progress record in both CRMs: (CRM, key) → the values a user sees."""
    out: dict[tuple[str, str], tuple[Any, ...]] = {}
    for record in flow.sandbox.records("salesforce", "Partner_Plan_Progress__c"):
        out["salesforce", record["External_Id__c"]] = tuple(_value(record[f]) for f in SF_FIELDS)
    for record in flow.sandbox.records("hubspot", "partner_plan_progress"):
        props = record["properties"]
        out["hubspot", props["progress_key"]] = tuple(_value(props.get(f)) for f in HS_FIELDS)
    return out


def stored_matches_live(flow: Flow) -> dict[str, tuple[int, int]]:
    """Streams whose stored live activities differ in number from the CRM's live records."""
    wrong = {}
    with Session(flow.engine()) as session:
        for stream, (server, name) in STREAMS.items():
            stored = session.scalar(
                select(func.count())
                .select_from(ActivityRow)
                .where(col(ActivityRow.stream) == stream, col(ActivityRow.deleted).is_(False))
            )
            live = sum(
                1
                for r in flow.sandbox.records(server, name)
                if not (r.get("IsDeleted") or r.get("archived"))
                and (name != "Account" or r.get("IsPartner"))
                and (name != "companies" or r["properties"].get("is_partner") in (True, "true"))
            )
            if stored != live:
                wrong[stream] = (stored, live)
    return wrong


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The CRM progress a clean run writes (the same sandbox data, the same frozen clock)."""
    with make_flow_factory(tmp_path_factory.mktemp("reference")) as make:
        flow = make()
        _fast_retries(flow)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(jobs, "now", lambda: AS_OF)
            assert flow.run() == 0
        found = crm_progress(flow)
    assert len(found) >= 20
    return found


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_never_puts_a_wrong_number_in_a_crm_and_one_more_run_heals(
    fault, reference, make_flow, monkeypatch, capsys
):
    """Exit code as the fault deserves; CRM values only from complete data; one run heals."""
    specs, expected_exit = FAULTS[fault]
    flow = make_flow()
    _fast_retries(flow)
    monkeypatch.setattr(jobs, "now", lambda: AS_OF)
    for server, spec in specs.items():
        flow.sandbox.set_faults(server, **spec)
    code = flow.run()
    captured = capsys.readouterr()
    err = captured.out + captured.err  # the summary's reasons are on stdout, logs on stderr
    during = crm_progress(flow)
    wrong = {
        key: (value, reference.get(key))
        for key, value in during.items()
        if value != reference.get(key)
    }
    assert (code, wrong) == (expected_exit, {}), err[-2000:]
    if expected_exit:
        assert "error:" in err
    if fault in STREAM_STOPPED:
        # what a stopped stream held back is shown stale, not silently old
        args = ["status", "--format", "json", "--config", str(flow.config)]
        assert cli([*args, "--database-url", flow.database_url]) == 0
        lines = json.loads(capsys.readouterr().out)
        assert any(line["stale"] for line in lines)

    for server in specs:
        flow.sandbox.clear_faults(server)
    # rejected writes wait out their backoff: the next run is ten minutes later, the same day
    monkeypatch.setattr(jobs, "now", lambda: AS_OF + timedelta(minutes=10))
    assert flow.run() == 0, capsys.readouterr().err[-2000:]
    assert stored_matches_live(flow) == {}
    assert crm_progress(flow) == reference
