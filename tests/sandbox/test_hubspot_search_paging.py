"""Keyset paging through the sandbox's HubSpot search: same answers, linear work.

The connector pages a window by moving the lower bound of ``modified``; every request is a new
body. These tests call the HubSpot app in-process (the dispatch the server runs, without the
socket), count the records the search touches, and compare every answer with a brute-force
filter of the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from connectors.hubspot.search import SearchPager
from sandbox import hubspot as hubspot_module
from sandbox.hs_store import HubSpotStore
from sandbox.httpbase import Request
from sandbox.hubspot import HubSpotApp
from sandbox.table import Table
from sandbox.world import World

MOD = "hs_lastmodifieddate"
SORT = [{"propertyName": MOD, "direction": "ASCENDING"}]


def _app(scale: int) -> HubSpotApp:
    return HubSpotApp(HubSpotStore(World.create(1, scale)))


def _search(app: HubSpotApp, body: dict[str, Any]) -> dict[str, Any]:
    request = Request(
        "POST",
        "/crm/v3/objects/deals/search",
        {},
        {"authorization": f"Bearer {app.token}"},
        orjson.dumps(body),
    )
    response = app(request)
    assert 200 == response.status, response.body
    answer: dict[str, Any] = orjson.loads(response.body)
    return answer


def _deals(app: HubSpotApp) -> Table:
    return app.store.table(app.store.kind("deals"))


def _live_in(
    table: Table, low: int, high: int, horizon: int | None = None, above: int = -1
) -> list[str]:
    """Brute force: ids of live records with ``low <= modified < high`` and id > ``above``,
    in (modified, id) order."""
    hits = []
    for index in table.by_index():
        modified, deleted = table.stamp(index)
        if (
            not deleted
            and low <= modified < high
            and (horizon is None or modified <= horizon)
            and int(table.id_of(index)) > above
        ):
            hits.append((modified, index))
    return [table.id_of(index) for _, index in sorted(hits)]


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class _Counting:
    """Counts ``Table.stamp`` and ``Table.record`` calls: the records a search touches."""

    def __init__(self, table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        stamp, record = table.stamp, table.record

        def counted_stamp(index: int) -> tuple[int, bool]:
            self.calls += 1
            return stamp(index)

        def counted_record(index: int) -> dict[str, Any] | None:
            self.calls += 1
            return record(index)

        monkeypatch.setattr(table, "stamp", counted_stamp)
        monkeypatch.setattr(table, "record", counted_record)


def test_a_keyset_walk_touches_each_record_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch,
):
    """The connector's pager walking 20,000 deals (a window cut inside the data, an extra
    filter) gets exactly the brute-force result, touching records at most 3 times each
    (re-scanning from each page's key would touch them about 50 times each)."""
    app = _app(250)
    table = _deals(app)
    stamps = sorted(table.stamp(i)[0] for i in table.by_index())
    assert len(stamps) >= 20_000
    start, end = _at(stamps[len(stamps) // 20]), _at(stamps[-len(stamps) // 20])
    extra = [{"propertyName": "pipeline", "operator": "EQ", "value": "default"}]

    def search(filters: list[dict[str, Any]], sort: str, after: str | None) -> dict[str, Any]:
        body = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": ["dealname", MOD, "pipeline"],
            "limit": 200,
            "after": after or "0",
        }
        return _search(app, body)

    pager = SearchPager(
        search=search, modified=MOD, extra=extra, limit=200, between_pages=lambda: None
    )
    expected = _live_in(table, _ms(start), _ms(end))
    counting = _Counting(table, monkeypatch)
    pulled = [record for batch in pager.batches(start, end) for record in batch]
    assert all(r["properties"]["pipeline"] == "default" for r in pulled)
    assert expected == [r["id"] for r in pulled]
    # ~3 a record: its stamp when scanned, its build for the extra filter, its rendering.
    assert counting.calls <= 4 * len(stamps)


def _body(low: int, high: int, after: int = 0, op: str = "GTE", limit: int = 10) -> dict[str, Any]:
    filters = [
        {"propertyName": MOD, "operator": op, "value": str(low)},
        {"propertyName": MOD, "operator": "LT", "value": str(high)},
    ]
    return {"filterGroups": [{"filters": filters}], "sorts": SORT, "limit": limit, "after": after}


def _page(expected: list[str], after: int, limit: int = 10) -> dict[str, Any]:
    """The answer HubSpot gives for ``expected`` at offset ``after``: total, ids, paging."""
    answer: dict[str, Any] = {"total": len(expected), "ids": expected[after : after + limit]}
    if after + limit < len(expected):
        answer["paging"] = {"next": {"after": str(after + limit)}}
    return answer


def _seen(answer: dict[str, Any]) -> dict[str, Any]:
    seen = {"total": answer["total"], "ids": [r["id"] for r in answer["results"]]}
    return seen | ({"paging": answer["paging"]} if "paging" in answer else {})


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The search's clock (the lag horizon) stands still at a fixed instant."""
    now = _ms(datetime(2030, 1, 1, tzinfo=UTC))
    monkeypatch.setattr(hubspot_module, "now_ms", lambda: now)
    yield now


def test_total_and_paging_stay_exact_as_the_bound_advances_with_lag_and_after_a_write(
    frozen: int,
):
    """As the lower bound moves up (GTE, then GT), with a search lag, after an update moves a
    deal, and when the bound moves back down, every answer's total, results and next offset
    equal the brute-force answer."""
    app = _app(2)
    table = _deals(app)
    stamps = sorted({table.stamp(i)[0] for i in table.by_index()})
    high = frozen + 1
    bounds = [stamps[0], stamps[10], stamps[40], stamps[41] - 1]
    for low in bounds:
        expected = _live_in(table, low, high)
        assert _page(expected, 0) == _seen(_search(app, _body(low, high)))
        assert _page(expected, 20) == _seen(_search(app, _body(low, high, after=20)))
    beyond = _live_in(table, stamps[41] + 1, high)
    assert _page(beyond, 5) == _seen(_search(app, _body(stamps[41], high, after=5, op="GT")))

    horizon = stamps[60]
    app.set_faults({"search_lag_ms": frozen - horizon})
    lagging = _live_in(table, stamps[50], high, horizon)
    assert len(lagging) < len(_live_in(table, stamps[50], high))
    assert _page(lagging, 0) == _seen(_search(app, _body(stamps[50], high)))
    app.set_faults({})

    moved = _live_in(table, stamps[50], high)[0]
    record = table.get(moved)
    assert record is not None
    app.store.update(app.store.kind("deals"), record, {"dealname": "Moved"})
    after_write = _live_in(table, stamps[55], high)
    assert moved == after_write[-1]
    assert _page(after_write, len(after_write) - 3) == _seen(
        _search(app, _body(stamps[55], high, after=len(after_write) - 3))
    )
    everything = _live_in(table, stamps[0], high)
    assert _page(everything, 30) == _seen(_search(app, _body(stamps[0], high, after=30)))


def _tie_body(stamp: int, after: int, op: str = "GT", offset: int = 0) -> dict[str, Any]:
    filters = [{"propertyName": MOD, "operator": "EQ", "value": str(stamp)}]
    if after >= 0:
        filters.append({"propertyName": "hs_object_id", "operator": op, "value": str(after)})
    sorts = [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
    return {"filterGroups": [{"filters": filters}], "sorts": sorts, "limit": 5, "after": offset}


def test_tie_pages_by_id_stay_exact_as_the_id_bound_advances_with_lag_and_after_a_write(
    frozen: int,
):
    """Inside one shared timestamp (``modified == T AND hs_object_id > id``, sorted by id) the
    total, results and next offset equal the brute-force answer as the id bound moves up (GT,
    GTE), with a lag that hides the timestamp, and after an update moves a tied deal away."""
    app = _app(2)
    table = _deals(app)
    stamps = [table.stamp(i)[0] for i in table.by_index()]
    tie = max(set(stamps), key=stamps.count)
    tied = _live_in(table, tie, tie + 1)
    assert len(tied) > 10
    for after in [-1, int(tied[3]), int(tied[4]) - 1, int(tied[9])]:
        expected = _live_in(table, tie, tie + 1, above=after)
        assert _page(expected, 0, 5) == _seen(_search(app, _tie_body(tie, after)))
        assert _page(expected, 5, 5) == _seen(_search(app, _tie_body(tie, after, offset=5)))
    expected = _live_in(table, tie, tie + 1, above=int(tied[6]) - 1)
    assert _page(expected, 0, 5) == _seen(_search(app, _tie_body(tie, int(tied[6]), op="GTE")))

    app.set_faults({"search_lag_ms": frozen - tie + 1})
    assert _page([], 0, 5) == _seen(_search(app, _tie_body(tie, int(tied[3]))))
    app.set_faults({})

    record = table.get(tied[5])
    assert record is not None
    app.store.update(app.store.kind("deals"), record, {"dealname": "Moved"})
    expected = _live_in(table, tie, tie + 1, above=int(tied[3]))
    assert tied[5] not in expected
    assert _page(expected, 0, 5) == _seen(_search(app, _tie_body(tie, int(tied[3]))))
