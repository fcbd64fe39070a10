"""The HubSpot connector: keyset search pulls, archived listings, batch writes of 100.

All calls go through hubspot-api-client's generated APIs (urllib3 underneath), configured with
``host`` (every generated API; ``base_url`` would only move ``api_request``), the CA bundle, and
urllib3 retries switched off: urllib3 does not retry POSTs anyway (search and every batch call
are POSTs), and one tenacity policy that reads HubSpot's ``policyName`` retries better. Responses
are read raw (``_preload_content=False``) so records reach the mappings exactly as HubSpot sent
them, and so every response's rate-limit headers feed the daily budget.

Object types go out as HubSpot resolves them (:func:`~connectors.hubspot.schema.api_object_type`):
a custom object's bare name, which HubSpot no longer accepts, is sent as ``p_name``. Every pager
follows HubSpot's own continuation (``paging.next``), never a page's length.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import hubspot
import orjson

from connectors.base import ApiUsage, FileUpload, Page, Watermark, WriteResult
from connectors.budget import Budget
from connectors.errors import MissingField
from connectors.hubspot import files as hs_files
from connectors.hubspot import listing
from connectors.hubspot.dialect import ASSOCIATE_BATCH, BATCH_SIZE
from connectors.hubspot.errors import translate
from connectors.hubspot.schema import api_object_type
from connectors.hubspot.search import SearchPager
from connectors.hubspot.settings import HubSpotSource
from connectors.hubspot.writes import upsert_inputs, values, write_results
from connectors.pacing import Pacer, Rate, backend_for, pace_key
from connectors.retry import RetryPolicy
from connectors.schema_cache import SCHEMAS
from connectors.spec import Filter, StreamSpec
from connectors.wire import chunks, isolate, parse_timestamp
from partnerplan.errors import ConfigurationError, RateLimited, RecordError
from partnerplan.logs import get_logger

T = TypeVar("T")
log = get_logger(__name__)
LATENCY = listing.Latency()
LOADS = listing.Loads()
"""The first loads running in this process, by token digest and method."""
"""Seconds a call takes, by (token's pace key, endpoint), as this process has seen them."""
SEARCH_LIMIT = 200
"""Records per search request: HubSpot's maximum."""
ASSOCIATION_BATCH = 1000
"""Ids per v4 association batch read: HubSpot's maximum."""
MAX_FILTERS = 6
"""Filters per search filter group; the pager itself needs two."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPS = {
    "eq": "EQ",
    "ne": "NEQ",
    "gt": "GT",
    "gte": "GTE",
    "lt": "LT",
    "lte": "LTE",
    "in": "IN",
    "not_in": "NOT_IN",
    "is_null": "NOT_HAS_PROPERTY",
    "not_null": "HAS_PROPERTY",
}


class HubSpotConnector:
    """Pulls from and writes to one HubSpot portal (see the module docstring)."""

    def __init__(
        self,
        name: str,
        source: HubSpotSource,
        *,
        retry: RetryPolicy | None = None,
        page_size: int = SEARCH_LIMIT,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.name = name
        # Search allows 5 requests/s per token: four streams paging at once keep it busy
        # without queueing most of their time behind the pacer.
        self.concurrency = source.concurrent_streams or 4
        self.source = source
        self.retry = retry or RetryPolicy()
        self.page_size = page_size
        self.now = now or (lambda: datetime.now(UTC))
        self.budget = Budget(name, source.budget_share)
        # the archived listing cannot be read from a point on: not every run (worker.pull)
        self.deletions_every: timedelta | None = timedelta(
            minutes=source.archived_listing_every_minutes
        )
        self.calls = 0
        self.write_calls = 0
        self._timeout = (source.timeouts.connect, source.timeouts.read)
        token = source.token.get_secret_value()
        self.key = pace_key("hubspot", source.base_url.rstrip("/"), token)
        limits = source.rate_limits
        self.window = Rate("window", limits.window_calls, limits.window_seconds, limits.margin)
        self.search_rate = Rate("search", limits.search_per_second, 1.0, limits.search_margin)
        self.pacer = Pacer(
            backend_for(source.rate_limits_backend), self.key, [self.window, self.search_rate]
        )
        self._counting = threading.Lock()
        self.endpoint_calls: dict[str, int] = {}
        """Calls by endpoint (``search``, ``list``, ...), retries included."""
        client = hubspot.Client.create(
            access_token=token,
            host=source.base_url.rstrip("/"),
            retry=False,
            ssl_ca_cert=source.ca_bundle,
        )
        self._search = client.crm.objects.search_api
        self._basic = client.crm.objects.basic_api
        self._batch = client.crm.objects.batch_api
        self._associations = client.crm.associations.v4.batch_api
        self._properties = client.crm.properties.core_api
        self._files = client.files.files_api

    def __repr__(self) -> str:
        return f"HubSpotConnector(name={self.name!r}, base_url={self.source.base_url!r})"

    # -- plumbing ---------------------------------------------------------------------------

    def _request(
        self,
        fn: Callable[..., Any],
        *args: Any,
        write: bool = False,
        endpoint: str = "other",
        **kw: Any,
    ) -> Any:
        """One API call (paced, retried): the decoded JSON body, or None for an empty answer.

        Every attempt waits its turn under the 10-second window, and a search also under the
        per-second search limit (:mod:`connectors.pacing`). A 429 that still comes sets the
        shared cool-down for the pause HubSpot asked for before the retry policy waits it out.
        """
        # The strictest rate last, so a search leaves as soon as its search turn comes (a
        # turn taken first and then held up by the window would reach HubSpot late in it).
        rates = ("window", "search") if endpoint == "search" else ("window",)

        def attempt() -> Any:
            with self.pacer.call(*rates):
                with self._counting:  # stream threads may share this connector
                    self.calls += 1
                    self.write_calls += int(write)
                    self.endpoint_calls[endpoint] = self.endpoint_calls.get(endpoint, 0) + 1
                sent = time.monotonic()
                try:
                    response = fn(
                        *args, _preload_content=False, _request_timeout=self._timeout, **kw
                    )
                    LATENCY.observe((self.key, endpoint), time.monotonic() - sent)
                except Exception as exc:
                    observe_usage(self.budget, getattr(exc, "headers", None) or {})
                    error = translate(exc, self.name)
                    if error is None:
                        raise
                    if isinstance(error, RateLimited):
                        self.pacer.cool_down(error.retry_after or 1.0, f"{self.name}: {error}")
                    raise error from exc
            observe_usage(self.budget, response.headers)
            data = response.data
            response.release_conn()
            return orjson.loads(data) if data else None

        return self.retry.call(attempt)

    # -- fields -----------------------------------------------------------------------------

    def properties(self, object: str) -> set[str]:
        """The object's property names, from the schema cache
        (:mod:`connectors.schema_cache`: asked again after ``schema_cache_seconds``).

        The cache keeps a sorted list, not a set: what it keeps may go through the store as
        JSON and must come back as it went in.
        """

        def load() -> list[str]:
            body = (
                self._request(
                    self._properties.get_all, api_object_type(object), endpoint="properties"
                )
                or {}
            )
            return sorted({p["name"] for p in body.get("results", [])})

        names: list[str] = SCHEMAS.get((self.key, object), self.source.schema_cache_seconds, load)
        return set(names)

    def check_fields(self, spec: StreamSpec) -> None:
        """Raise :class:`MissingField` naming the object and every property it lacks.

        A property the cached list lacks is asked for again before the stream fails: it may
        have been created since the list was cached.
        """
        wanted = [spec.modified_field, *spec.fields, *(f.field for f in spec.filters)]
        missing = self._missing(spec.object, wanted)
        if missing:
            SCHEMAS.forget((self.key, spec.object))
            missing = self._missing(spec.object, wanted)
        if missing:
            raise MissingField(self.name, spec.object, missing)
        if len(spec.filters) > MAX_FILTERS - 2:
            raise ConfigurationError(
                f"source {self.name!r}: stream {spec.name!r} has {len(spec.filters)} filters; "
                f"HubSpot search takes {MAX_FILTERS} per request and the sync needs 2, so use "
                f"at most {MAX_FILTERS - 2}"
            )

    def _missing(self, object: str, wanted: list[str]) -> list[str]:
        known = self.properties(object) | {"hs_object_id"}
        return [name for name in dict.fromkeys(wanted) if name not in known]

    # -- pull -------------------------------------------------------------------------------

    def pull(self, spec: StreamSpec, since: Watermark | None) -> Iterator[Page]:
        """Yield pages of records modified in ``[since - lookback, now)``.

        Search indexes writes with a lag (``search_lag_seconds``): a record changed within it
        may not show yet. Everything search shows is yielded at once (a partner company a
        roll-up push just touched is stored in this run, not the next), but pages of records
        changed within the lag carry no watermark, so the stream's watermark stays before the
        lag and the next run reads that stretch again, catching what was not indexed yet.
        """
        self.check_fields(spec)
        self.budget.check()
        props = list(dict.fromkeys([*spec.fields, spec.modified_field, "hs_object_id"]))
        if since is None:
            method = self.first_load(spec)
            with LOADS.running(self.key, method):
                if method == "list":
                    yield from self._listed(spec, props)
                else:
                    yield from self._searched(spec, props, since)
            return
        yield from self._searched(spec, props, since)

    def _searched(
        self, spec: StreamSpec, props: list[str], since: Watermark | None
    ) -> Iterator[Page]:
        """Pages of ``spec``'s records modified from ``since`` (minus the lookback) through
        search, sorted by modified time (see :meth:`pull`)."""
        start = (
            since.modified_at - timedelta(seconds=self.source.lookback_seconds) if since else EPOCH
        )
        end = self.now()
        settled = end - timedelta(seconds=self.source.search_lag_seconds)

        def search(filters: list[dict[str, Any]], sort: str, after: str | None) -> dict[str, Any]:
            body: dict[str, Any] = {
                "filterGroups": [{"filters": filters}],
                "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
                "properties": props,
                "limit": self.page_size,
            }
            if after is not None:
                body["after"] = after
            result: dict[str, Any] = self._request(
                self._search.do_search, api_object_type(spec.object), body, endpoint="search"
            )
            return result

        pager = SearchPager(
            search=search,
            modified=spec.modified_field,
            extra=[_search_filter(f) for f in spec.filters],
            limit=self.page_size,
            between_pages=self.budget.check,
        )
        for batch in self._with_associations(spec, pager.batches(start, end)):
            stamps = [_modified(r, spec.modified_field) for r in batch]
            indexed = sum(1 for stamp in stamps if stamp < settled)  # stamps ascend
            if indexed:
                mark = Watermark(stamps[indexed - 1], str(batch[indexed - 1]["id"]))
                yield Page(batch[:indexed], max(mark, since) if since else mark)
            if indexed < len(batch):
                yield Page(batch[indexed:], None)  # within the lag: read again next run

    def first_load(self, spec: StreamSpec) -> listing.Method:
        """How a pull of ``spec`` with no watermark reads it (:mod:`connectors.hubspot.listing`)."""
        conditions = listing.Conditions(  # half the lanes sharing: see the listing module
            max(1, self.concurrency // 2),
            LATENCY.get((self.key, "list")),
            LATENCY.get((self.key, "search")),
            listing=LOADS.count(self.key, "list"),
            searching=LOADS.count(self.key, "search"),
        )
        return listing.choose(
            spec, self.source.first_load, self.window, self.search_rate, self.page_size, conditions
        )

    def _listed(self, spec: StreamSpec, props: list[str]) -> Iterator[Page]:
        """A first load through the object listing; only the last page carries the watermark,
        ``(start, "")`` (why that is complete: :mod:`connectors.hubspot.listing`)."""
        start = self.now()
        log.info("hubspot_first_load", source=self.name, object=spec.object, method="list")

        def list_page(after: str | None) -> dict[str, Any]:
            kwargs: dict[str, Any] = {"limit": listing.LIST_LIMIT, "properties": props}
            if after is not None:
                kwargs["after"] = after
            body: dict[str, Any] = (
                self._request(
                    self._basic.get_page, api_object_type(spec.object), endpoint="list", **kwargs
                )
                or {}
            )
            return body

        pending: list[dict[str, Any]] | None = None
        pages = listing.pages(list_page, self.budget.check)
        for batch in self._with_associations(spec, pages):
            if pending is not None:
                yield Page(pending, None)
            pending = batch
        yield Page(pending or [], Watermark(start, ""))

    def _with_associations(
        self, spec: StreamSpec, batches: Iterator[list[dict[str, Any]]]
    ) -> Iterator[list[dict[str, Any]]]:
        """``batches`` in order, each with its associations attached (:meth:`_associate`).

        A page's association reads and the next page's search or listing call do not depend
        on each other, so they are made at once: the reads in a helper thread on this
        connector (its calls are thread-safe and paced per token), the next page here. A
        stream's chain of calls then costs about its pages' calls, not pages plus reads, which
        is what bounded the longest HubSpot streams (and the floor of :mod:`bench.realistic`
        counts reads apart already). A read that fails raises here, before its page is
        yielded, as it did when made in turn; a page fetched ahead of it is dropped.
        """
        if not spec.associations:
            yield from batches
            return
        with ThreadPoolExecutor(1, thread_name_prefix=f"assoc-{self.name}") as pool:
            reading: Future[list[dict[str, Any]]] | None = None
            try:
                for batch in batches:
                    if reading is not None:
                        yield reading.result()
                    reading = pool.submit(
                        contextvars.copy_context().run, self._associated, spec, batch
                    )
                if reading is not None:
                    yield reading.result()
            finally:
                if reading is not None:
                    reading.cancel()

    def _associated(self, spec: StreamSpec, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``batch`` with its associations attached (an empty batch reads nothing)."""
        if batch:
            self._associate(spec.object, spec.associations, batch)
        return batch

    def _associate(self, object: str, kinds: Sequence[str], records: list[dict[str, Any]]) -> None:
        """Attach ``"associations": {kind: [ids, primary first]}`` to each record.

        A record's associations may come in several pages: a result with ``paging.next.after``
        is asked for again (``{"id", "after"}`` in the next batch's inputs) until none has more.
        """
        for record in records:
            record["associations"] = {kind: [] for kind in kinds}
        by_id = {str(r["id"]): r for r in records}
        for kind in kinds:
            found: dict[str, list[dict[str, Any]]] = {}
            pending: list[dict[str, Any]] = [{"id": record_id} for record_id in by_id]
            asked: set[tuple[str, str]] = set()  # a cursor that repeats itself ends the walk
            while pending:
                following: list[dict[str, Any]] = []
                for part in chunks(pending, ASSOCIATION_BATCH):
                    answer = (
                        self._request(
                            self._associations.get_page,
                            api_object_type(object),
                            api_object_type(kind),
                            {"inputs": part},
                            endpoint="associations",
                        )
                        or {}
                    )
                    for result in answer.get("results", []):
                        record_id = str(result["from"]["id"])
                        found.setdefault(record_id, []).extend(result.get("to", []))
                        after = ((result.get("paging") or {}).get("next") or {}).get("after")
                        if after is not None and (record_id, str(after)) not in asked:
                            asked.add((record_id, str(after)))
                            following.append({"id": record_id, "after": str(after)})
                pending = following
            for record_id, targets in found.items():
                if record_id in by_id:
                    by_id[record_id]["associations"][kind] = _associated_ids(targets)

    def deletions(self, spec: StreamSpec, since: datetime | None) -> Iterator[Page]:
        """Yield pages of archived records (archived at or after ``since``).

        The archived listing is in id order and cannot filter by time, so only the final page
        carries a watermark (the latest ``archivedAt`` seen); earlier pages carry None.
        """
        self.budget.check()
        after: str | None = None
        latest: Watermark | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": 100, "archived": True}
            kwargs["properties"] = [spec.modified_field]
            if after:
                kwargs["after"] = after
            body = (
                self._request(
                    self._basic.get_page,
                    api_object_type(spec.object),
                    endpoint="archived",
                    **kwargs,
                )
                or {}
            )
            records = []
            for record in body.get("results", []):
                stamp = parse_timestamp(record.get("archivedAt") or record["updatedAt"])
                if since is None or stamp >= since:
                    records.append(record)
                    mark = Watermark(stamp, str(record["id"]))
                    latest = mark if latest is None else max(latest, mark)
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if records or not after:
                yield Page(records, None if after else latest, deleted=True)
            if not after:
                return
            self.budget.check()

    # -- writes -----------------------------------------------------------------------------

    def upsert(
        self, object: str, key_field: str, records: list[dict[str, Any]]
    ) -> list[WriteResult]:
        """Batch upsert by the unique property ``key_field``: 100 a call, 207 read per record."""
        keyed = upsert_inputs(key_field, records)
        results: list[WriteResult] = []
        for batch in chunks(keyed, BATCH_SIZE):
            results.extend(self._isolated(object, key_field, batch))
        return results

    def update(self, object: str, records: list[dict[str, Any]]) -> list[WriteResult]:
        """Batch update by record id (``"id"`` or ``"hs_object_id"`` in each record)."""
        keyed: list[tuple[str, dict[str, Any] | None]] = []
        for record in records:
            record_id = str(record.get("id") or record.get("hs_object_id") or "")
            props = {k: v for k, v in record.items() if k not in ("id", "hs_object_id")}
            keyed.append((record_id, {"id": record_id, "properties": values(props)}))
        results: list[WriteResult] = []
        for batch in chunks(keyed, BATCH_SIZE):
            results.extend(self._isolated(object, None, batch))
        return results

    def _isolated(
        self,
        object: str,
        key_field: str | None,
        batch: Sequence[tuple[str, dict[str, Any] | None]],
    ) -> list[WriteResult]:
        return isolate(
            batch,
            lambda part: self._send(object, key_field, part),
            lambda item, exc: WriteResult(item[0], False, error=str(exc)),
            RecordError,
        )

    def _send(
        self,
        object: str,
        key_field: str | None,
        batch: Sequence[tuple[str, dict[str, Any] | None]],
    ) -> list[WriteResult]:
        inputs = [body for _, body in batch if body is not None]
        answer: dict[str, Any] = {}
        if inputs:
            call = self._batch.update if key_field is None else self._batch.upsert
            answer = (
                self._request(call, api_object_type(object), {"inputs": inputs}, write=True) or {}
            )
        return write_results(batch, answer, key_field)

    def associate(
        self, object: str, to_object: str, pairs: list[tuple[str, str]]
    ) -> list[WriteResult]:
        """Associate each ``(record id, other record id)`` with the default association type.

        v4 ``batch/associate/default``, ``ASSOCIATE_BATCH`` pairs a call; one result per pair,
        keyed ``"record id:other id"``. HubSpot rejects a whole batch for one unknown id, so a
        rejected batch is split until the bad pair stands alone and the others land.
        """
        keyed: list[tuple[str, dict[str, Any] | None]] = [
            (f"{a}:{b}", {"from": {"id": a}, "to": {"id": b}}) for a, b in pairs
        ]
        results: list[WriteResult] = []
        for batch in chunks(keyed, ASSOCIATE_BATCH):
            results.extend(
                isolate(
                    batch,
                    lambda part: self._send_associations(object, to_object, part),
                    lambda item, exc: WriteResult(item[0], False, error=str(exc)),
                    RecordError,
                )
            )
        return results

    def _send_associations(
        self, object: str, to_object: str, batch: Sequence[tuple[str, dict[str, Any] | None]]
    ) -> list[WriteResult]:
        inputs = [body for _, body in batch if body is not None]
        call = self._associations.create_default
        self._request(
            call,
            api_object_type(object),
            api_object_type(to_object),
            {"inputs": inputs},
            write=True,
        )
        return [WriteResult(key, True) for key, _ in batch]

    def delete(self, object: str, ids: list[str]) -> list[WriteResult]:
        """Archive by id: batch archive, 100 a call (HubSpot answers 204 for the batch)."""
        results: list[WriteResult] = []
        for batch in chunks(ids, BATCH_SIZE):
            inputs = [{"id": record_id} for record_id in batch]
            self._request(
                self._batch.archive, api_object_type(object), {"inputs": inputs}, write=True
            )
            results.extend(WriteResult(record_id, True, record_id, False) for record_id in batch)
        return results

    def attach(self, files: list[FileUpload]) -> list[WriteResult]:
        """Files API uploads shown on their records by notes (:mod:`connectors.hubspot.files`)."""
        return hs_files.attach(
            files,
            upload=lambda f: hs_files.upload_file(self._request, self._files, f),
            create_notes=lambda inputs: self._request(
                self._batch.create, "notes", {"inputs": inputs}, write=True
            ),
            associate=self.associate,
            update=self.update,
        )

    def horizon(self, started_at: datetime) -> datetime:
        """A search pull stops ``search_lag_seconds`` before its start (the index trails)."""
        return started_at - timedelta(seconds=self.source.search_lag_seconds)

    def usage(self) -> ApiUsage:
        """Calls made (retries included) and the portal's daily usage."""
        return ApiUsage(self.calls, self.write_calls, self.budget.used, self.budget.limit)


def observe_usage(budget: Budget, headers: Mapping[str, str]) -> None:
    """Feed ``X-HubSpot-RateLimit-Daily`` / ``-Daily-Remaining`` to the budget; a response
    without them (search answers) counts as one call spent."""
    daily = headers.get("X-HubSpot-RateLimit-Daily")
    remaining = headers.get("X-HubSpot-RateLimit-Daily-Remaining")
    if daily and remaining and daily.isdigit() and remaining.isdigit():
        budget.observe(int(daily) - int(remaining), int(daily))
    else:
        budget.spent()


def _search_filter(flt: Filter) -> dict[str, Any]:
    """A mapping filter in HubSpot's form; values as strings (HubSpot compares strings)."""
    out: dict[str, Any] = {"propertyName": flt.field, "operator": _OPS[flt.op]}
    if flt.op in ("in", "not_in"):
        out["values"] = [values({"v": v})["v"] for v in flt.value or []]
    elif flt.op not in ("is_null", "not_null"):
        out["value"] = values({"v": flt.value})["v"]
    return out


def _modified(record: dict[str, Any], modified: str) -> datetime:
    """A record's modified time: its modified property, else ``updatedAt``."""
    return parse_timestamp((record.get("properties") or {}).get(modified) or record["updatedAt"])


def _associated_ids(targets: list[dict[str, Any]]) -> list[str]:
    """Associated ids, the primary association first, each id once."""

    def primary(target: dict[str, Any]) -> bool:
        return any(
            (t.get("label") or "").lower() == "primary" for t in target.get("associationTypes", [])
        )

    ordered = sorted(targets, key=lambda t: not primary(t))
    return list(dict.fromkeys(str(t["toObjectId"]) for t in ordered))
