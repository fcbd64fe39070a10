"""The HubSpot connector against a local HTTP fake (its client speaks urllib3, not requests)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors.base import Watermark
from connectors.errors import AuthenticationFailed, DailyLimitReached, MissingField
from connectors.hubspot.connector import HubSpotConnector
from connectors.spec import StreamSpec
from partnerplan.errors import BudgetExhausted, ConfigurationError
from tests.connectors.conftest import hs_source, reply

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SPEC = StreamSpec("deals", "hs", "deals", ("amount",), "hs_lastmodifieddate", (), ("companies",))
PROPS = reply(200, {"results": [{"name": n} for n in ("amount", "hs_lastmodifieddate")]})
SEARCH = "/crm/v3/objects/deals/search"


def _deal(n: int, stamp: str = "2026-03-01T10:00:00.000Z") -> dict[str, object]:
    return {
        "id": str(n),
        "properties": {"amount": "10.50", "hs_lastmodifieddate": stamp},
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
    }


def _connector(fake, no_sleep, **overrides) -> HubSpotConnector:
    return HubSpotConnector("hs", hs_source(fake.url, **overrides), retry=no_sleep, now=lambda: NOW)


def _rate_limited(policy: str, message: str) -> object:
    return reply(
        429,
        {"status": "error", "message": message, "errorType": "RATE_LIMIT", "policyName": policy},
    )


def test_search_sends_the_token_and_a_modified_window_from_the_lookback_to_now(
    fake_hubspot, no_sleep
):
    """Search runs on the modified property from since-lookback to now, with the token."""
    fake_hubspot.on("GET", "/crm/v3/properties/deals", PROPS)
    fake_hubspot.on("POST", SEARCH, reply(200, {"total": 1, "results": [_deal(1)]}))
    fake_hubspot.on(
        "POST",
        "/crm/v4/associations/deals/companies/batch/read",
        reply(
            200,
            {
                "results": [
                    {
                        "from": {"id": "1"},
                        "to": [
                            {
                                "toObjectId": 77,
                                "associationTypes": [{"typeId": 341, "label": None}],
                            },
                            {
                                "toObjectId": 9001,
                                "associationTypes": [{"typeId": 5, "label": "Primary"}],
                            },
                            {
                                "toObjectId": 9001,
                                "associationTypes": [{"typeId": 341, "label": None}],
                            },
                        ],
                    }
                ]
            },
        ),
    )
    connector = _connector(fake_hubspot, no_sleep, search_lag_seconds=120, lookback_seconds=300)
    since = Watermark(datetime(2026, 3, 1, 9, 0, tzinfo=UTC), "1")
    pages = list(connector.pull(SPEC, since))
    search = next(r for r in fake_hubspot.requests if r.path == SEARCH)
    filters = search.body["filterGroups"][0]["filters"]
    assert search.headers["Authorization"] == "Bearer pat-na1-secret-token"
    assert [(f["operator"], f["value"]) for f in filters] == [
        ("GTE", str(int(datetime(2026, 3, 1, 8, 55, tzinfo=UTC).timestamp() * 1000))),
        ("LT", str(int(datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp() * 1000))),
    ]
    assert pages[0].records[0]["associations"] == {"companies": ["9001", "77"]}
    assert pages[0].watermark == Watermark(datetime(2026, 3, 1, 10, 0, tzinfo=UTC), "1")


def test_missing_property_names_the_object_and_property(fake_hubspot, no_sleep):
    """A mapped property the portal lacks fails check_fields naming object and property."""
    fake_hubspot.on("GET", "/crm/v3/properties/deals", PROPS)
    spec = StreamSpec("d", "hs", "deals", ("amount", "partner_tier"), "hs_lastmodifieddate")
    with pytest.raises(MissingField, match="'deals' has no field 'partner_tier'"):
        _connector(fake_hubspot, no_sleep).check_fields(spec)


def test_ten_secondly_429_waits_ten_seconds_then_succeeds(fake_hubspot, no_sleep):
    """A TEN_SECONDLY_ROLLING 429 is retried after the 10 s window (the wait is recorded)."""
    fake_hubspot.on(
        "GET",
        "/crm/v3/properties/deals",
        _rate_limited("TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit."),
        PROPS,
    )
    connector = _connector(fake_hubspot, no_sleep)
    connector.check_fields(SPEC)
    assert no_sleep.waits == [10.0]


def test_retry_after_header_is_honoured(fake_hubspot, no_sleep):
    """A 503 with Retry-After waits exactly what the header asks."""
    fake_hubspot.on("GET", "/crm/v3/properties/deals", reply(503, {}, {"Retry-After": "3"}), PROPS)
    _connector(fake_hubspot, no_sleep).check_fields(SPEC)
    assert no_sleep.waits == [3.0]


def test_daily_429_stops_without_retrying(fake_hubspot, no_sleep):
    """A DAILY 429 raises DailyLimitReached (a BudgetExhausted) after a single call."""
    fake_hubspot.on(
        "GET",
        "/crm/v3/properties/deals",
        _rate_limited("DAILY", "You have reached your daily limit."),
    )
    with pytest.raises(DailyLimitReached):
        _connector(fake_hubspot, no_sleep).check_fields(SPEC)
    assert len(fake_hubspot.requests) == 1
    assert issubclass(DailyLimitReached, BudgetExhausted)


def test_401_is_fatal_and_403_a_configuration_error(fake_hubspot, no_sleep):
    """A rejected token is AuthenticationFailed; missing scopes are a ConfigurationError."""
    fake_hubspot.on(
        "GET", "/crm/v3/properties/deals", reply(401, {"category": "INVALID_AUTHENTICATION"})
    )
    fake_hubspot.on(
        "GET",
        "/crm/v3/properties/contacts",
        reply(
            403,
            {
                "category": "MISSING_SCOPES",
                "message": "One or more of the following scopes are required.",
            },
        ),
    )
    connector = _connector(fake_hubspot, no_sleep)
    with pytest.raises(AuthenticationFailed) as caught:
        connector.check_fields(SPEC)
    with pytest.raises(ConfigurationError, match="scopes"):
        connector.check_fields(StreamSpec("c", "hs", "contacts", (), "lastmodifieddate"))
    assert "pat-na1-secret-token" not in str(caught.value) + repr(connector)


def test_5xx_bursts_are_retried(fake_hubspot, no_sleep):
    """Two 502s then a success: the call succeeds after two retries."""
    fake_hubspot.on("GET", "/crm/v3/properties/deals", reply(502), reply(502), PROPS)
    _connector(fake_hubspot, no_sleep).check_fields(SPEC)
    assert len(fake_hubspot.requests) == 3


def test_daily_budget_share_stops_between_pages(fake_hubspot, no_sleep):
    """When the daily headers show the share spent, the pull stops after a complete page."""
    headers = {"X-HubSpot-RateLimit-Daily": "1000", "X-HubSpot-RateLimit-Daily-Remaining": "400"}
    fake_hubspot.on("GET", "/crm/v3/properties/deals", PROPS)
    page = [_deal(n, f"2026-03-01T10:{n // 60:02d}:{n % 60:02d}.000Z") for n in range(200)]
    more = {"next": {"after": "200"}}
    body = {"total": 500, "results": page, "paging": more}
    fake_hubspot.on("POST", SEARCH, reply(200, body, headers))
    spec = StreamSpec("deals", "hs", "deals", ("amount",), "hs_lastmodifieddate")
    pages = _connector(fake_hubspot, no_sleep, budget_share=0.5).pull(spec, None)
    first = next(pages)
    with pytest.raises(BudgetExhausted):
        next(pages)
    assert len(first.records) == 200
    assert len([r for r in fake_hubspot.requests if r.path == SEARCH]) == 1


def test_archived_listing_yields_deleted_pages_since(fake_hubspot, no_sleep):
    """Deletions list archived records page by page and keep those archived since the date."""
    old = {
        "id": "1",
        "properties": {},
        "archived": True,
        "archivedAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
    }
    new = {
        "id": "2",
        "properties": {},
        "archived": True,
        "archivedAt": "2026-02-15T00:00:00Z",
        "updatedAt": "2026-02-15T00:00:00Z",
    }
    fake_hubspot.on(
        "GET",
        "/crm/v3/objects/deals",
        reply(200, {"results": [old], "paging": {"next": {"after": "2"}}}),
        reply(200, {"results": [new]}),
    )
    pages = list(
        _connector(fake_hubspot, no_sleep).deletions(SPEC, datetime(2026, 2, 1, tzinfo=UTC))
    )
    assert [[r["id"] for r in p.records] for p in pages] == [["2"]]
    assert pages[0].deleted
    assert "archived=True" in fake_hubspot.requests[0].path


def _upsert_answer(request):
    inputs = request.body["inputs"]
    results = [
        {"id": str(900 + i), "properties": {"progress_key": x["id"]}, "new": i % 2 == 0}
        for i, x in enumerate(inputs)
        if x["id"] != "k-3"
    ]
    errors = (
        [
            {
                "status": "error",
                "category": "VALIDATION_ERROR",
                "message": "bad target",
                "context": {"ids": ["k-3"]},
            }
        ]
        if len(results) < len(inputs)
        else []
    )
    return (
        (207 if errors else 200),
        {"status": "COMPLETE", "results": results, "errors": errors},
        {},
    )


def test_upsert_batches_of_100_and_207_reports_exactly_the_failed_record(fake_hubspot, no_sleep):
    """250 upserts cost 3 calls; a 207 marks only the failed input; values go as strings."""
    fake_hubspot.on("POST", "/crm/v3/objects/p_progress/batch/upsert", _upsert_answer)
    records = [
        {"progress_key": f"k-{i}", "actual": Decimal("1.50"), "on_track": True} for i in range(250)
    ]
    connector = _connector(fake_hubspot, no_sleep)
    results = connector.upsert("p_progress", "progress_key", records)
    sent = [r.body["inputs"] for r in fake_hubspot.requests]
    assert [len(s) for s in sent] == [100, 100, 50]
    assert sent[0][0] == {
        "idProperty": "progress_key",
        "id": "k-0",
        "properties": {"progress_key": "k-0", "actual": "1.50", "on_track": "true"},
    }
    assert [r.key for r in results if not r.ok] == ["k-3"]
    assert results[3].error == "VALIDATION_ERROR: bad target"
    assert (results[0].record_id, results[0].created) == ("900", True)
    assert connector.usage().write_calls == 3


def test_duplicate_keys_are_sent_once_with_the_last_values(fake_hubspot, no_sleep):
    """A key given twice is sent once (HubSpot would reject the whole batch)."""
    fake_hubspot.on("POST", "/crm/v3/objects/p_progress/batch/upsert", _upsert_answer)
    records = [{"progress_key": "k-1", "actual": 1}, {"progress_key": "k-1", "actual": 2}]
    results = _connector(fake_hubspot, no_sleep).upsert("p_progress", "progress_key", records)
    inputs = fake_hubspot.requests[0].body["inputs"]
    assert [i["properties"]["actual"] for i in inputs] == ["2"]
    assert [r.ok for r in results] == [False, True]


def test_a_batch_rejected_whole_is_split_to_isolate_the_bad_record(fake_hubspot, no_sleep):
    """A 400 for the whole batch is bisected until the bad input stands alone."""

    def answer(request):
        if any(x["id"] == "k-6" for x in request.body["inputs"]):
            return 400, {"status": "error", "category": "VALIDATION_ERROR", "message": "bad"}, {}
        return _upsert_answer(request)

    fake_hubspot.on("POST", "/crm/v3/objects/p_progress/batch/upsert", answer)
    records = [{"progress_key": f"k-{i}"} for i in range(4, 12)]
    results = _connector(fake_hubspot, no_sleep).upsert("p_progress", "progress_key", records)
    assert [r.key for r in results if not r.ok] == ["k-6"]
    assert len(results) == 8


def test_update_by_record_id_reads_207_per_record(fake_hubspot, no_sleep):
    """Updating companies by id reports the ids HubSpot could not find."""
    fake_hubspot.on(
        "POST",
        "/crm/v3/objects/companies/batch/update",
        reply(
            207,
            {
                "status": "COMPLETE",
                "results": [{"id": "1", "properties": {}}],
                "errors": [
                    {
                        "category": "OBJECT_NOT_FOUND",
                        "message": "not found",
                        "context": {"ids": ["2"]},
                    }
                ],
            },
        ),
    )
    results = _connector(fake_hubspot, no_sleep).update(
        "companies", [{"id": "1", "plan_score": 80}, {"id": "2", "plan_score": 10}]
    )
    assert [(r.key, r.ok) for r in results] == [("1", True), ("2", False)]
    assert fake_hubspot.requests[0].body["inputs"][0] == {
        "id": "1",
        "properties": {"plan_score": "80"},
    }
