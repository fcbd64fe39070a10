"""The Salesforce connector: SOQL pulls by SystemModstamp, queryAll deletions, Collections writes.

Every HTTP call goes through :meth:`SalesforceConnector._call`, which layers, from the inside out:
the call itself on a simple-salesforce client in "direct" mode (our :class:`CrmSession`: pinned CA
bundle, timeouts, budget readings); :func:`~connectors.salesforce.errors.translate`; one
re-authentication on a 401 (a second 401 with a fresh token is fatal, never a loop); and the
tenacity retry policy for 429 / 5xx / timeouts / ``QUERY_TIMEOUT``.

Pull order is ``ORDER BY <modified> ASC, Id ASC`` from ``watermark - lookback``. When a query
cursor expires (``INVALID_QUERY_LOCATOR``), the query restarts from the last yielded timestamp and
the records already yielded at that timestamp are skipped, so nothing is lost or yielded twice.
A first pull (no watermark) of more than ``bulk_threshold`` records (``SELECT COUNT()``) runs as
a Bulk API 2.0 query job instead (:mod:`~connectors.salesforce.bulk`): a few calls in all
instead of one per 2,000 records, with the watermark persisted only at the end of the load.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import requests
from simple_salesforce.api import Salesforce

from connectors.base import ApiUsage, FileUpload, Page, Watermark, WriteResult
from connectors.budget import Budget
from connectors.errors import (
    AuthenticationFailed,
    DeletionsOutOfReach,
    MissingField,
    QueryLocatorExpired,
    SessionExpired,
)
from connectors.pacing import Pacer, backend_for, pace_key
from connectors.retry import RetryPolicy
from connectors.salesforce import bulk as sf_bulk
from connectors.salesforce import files as sf_files
from connectors.salesforce import soql
from connectors.salesforce.auth import SalesforceAuth
from connectors.salesforce.dialect import BATCH_SIZE
from connectors.salesforce.errors import translate
from connectors.salesforce.http import CrmSession
from connectors.salesforce.settings import SalesforceSource
from connectors.schema_cache import SCHEMAS
from connectors.spec import StreamSpec
from connectors.wire import chunks, dumps, isolate, parse_timestamp
from partnerplan.errors import ConfigurationError, RateLimited, RecordError
from partnerplan.logs import get_logger

T = TypeVar("T")
log = get_logger(__name__)
DEFAULT_CONCURRENCY = 4
"""Streams of one org a process syncs at once, unless ``concurrent_streams`` says otherwise."""
_SFORCE_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")
COOL_DOWN = 1.0
"""Seconds every pacer of the org pauses after a refusal that names no Retry-After (the
concurrent long-running limit): assumed; Salesforce documents no wait, only that the request
may be sent again once fewer long requests run."""
RECYCLE_BIN = timedelta(days=15)
"""How long Salesforce keeps deleted records where ``queryAll`` sees them (Help: "Manage the
Recycle Bin": 15 days, then they are purged)."""


class SalesforceConnector:
    """Pulls from and writes to one Salesforce org (see the module docstring for the flow)."""

    def __init__(
        self,
        name: str,
        source: SalesforceSource,
        *,
        retry: RetryPolicy | None = None,
        page_size: int | None = None,
    ) -> None:
        self.name = name
        # Salesforce meters requests per day, not per second; the limit that binds concurrent
        # reads is 25 long-running (20 s+) requests per org, shared with every other client.
        # What binds first is this process's CPU: mapping and storing run at ~5,000 records a
        # second (bench/README.md), which four streams of 2,000-record pages at ~1 s a page
        # already exceed. More lanes only contend for it, and starve the HubSpot streams,
        # which are bound by their rate limits: measured on the realistic profile at scale 200,
        # 8 lanes 52.0 s for the full sync, 4 lanes 48.3 s, with the same calls.
        self.concurrency = source.concurrent_streams or DEFAULT_CONCURRENCY
        self.deletions_every: timedelta | None = None  # queryAll lists deletions since a time
        self.source = source
        self.retry = retry or RetryPolicy()
        self.page_size = page_size
        self.budget = Budget(name, source.budget_share)
        self.key = pace_key("salesforce", source.instance_url.rstrip("/").lower())
        timeouts = source.timeouts
        self.pacer = Pacer(
            backend_for(source.rate_limits_backend),
            self.key,
            in_flight=source.rate_limits.in_flight or self.concurrency,
            slot_ttl_seconds=2 * (timeouts.connect + timeouts.read),
        )
        self.session = CrmSession(source.ca_bundle, timeouts, self._observe, self.pacer)
        self.auth = SalesforceAuth(name, source, self.session)
        self.write_calls = 0
        self._sf: Salesforce | None = None
        self._retry_after: float | None = None

    def __repr__(self) -> str:
        return f"SalesforceConnector(name={self.name!r}, instance={self.source.instance_url!r})"

    # -- plumbing ---------------------------------------------------------------------------

    def _observe(self, response: requests.Response) -> None:
        observe_usage(self.budget, response.headers)
        header = response.headers.get("Retry-After")
        self._retry_after = float(header) if header and header.isdigit() else None

    def _client(self) -> Salesforce:
        if self._sf is None:
            token = self.auth.login()
            self._sf = Salesforce(
                session_id=token.access_token,
                instance_url=token.instance_url,
                session=self.session,
                version=self.source.api_version,
                parse_float=Decimal,
            )
            log.info("salesforce_session", source=self.name, flow=self.auth.flow)
        return self._sf

    def _attempt(self, fn: Callable[[Salesforce], T]) -> T:
        client = self._client()
        try:
            return fn(client)
        except Exception as exc:
            error = translate(exc, self.name, self._retry_after)
            if error is None:
                raise
            if isinstance(error, RateLimited):  # a 429, or ConcurrentPerOrgLongTxn
                self.pacer.cool_down(error.retry_after or COOL_DOWN, f"{self.name}: {error}")
            raise error from exc

    def _authenticated(self, fn: Callable[[Salesforce], T]) -> T:
        try:
            return self._attempt(fn)
        except SessionExpired as exc:
            if not self.auth.can_refresh:
                raise AuthenticationFailed(
                    f"source {self.name!r}: the fixed session id was rejected (401); set a new "
                    f"one, or use an OAuth flow that can renew itself"
                ) from exc
        log.info("salesforce_reauthenticate", source=self.name)
        self._sf = None
        try:
            return self._attempt(fn)
        except SessionExpired as exc:
            raise AuthenticationFailed(
                f"source {self.name!r}: Salesforce rejected a freshly issued token; check the "
                f"connected app's session policies and the integration user's permissions"
            ) from exc

    def _call(
        self, fn: Callable[[Salesforce], T], give_up_on: tuple[type[Exception], ...] = ()
    ) -> T:
        return self.retry.call(lambda: self._authenticated(fn), give_up_on=give_up_on)

    # -- describe ---------------------------------------------------------------------------

    def describe(self, object: str) -> dict[str, Any]:
        """The object's describe, from the schema cache
        (:mod:`connectors.schema_cache`: asked again after ``schema_cache_seconds``)."""
        path = f"sobjects/{object}/describe/"

        def load() -> dict[str, Any]:
            described: dict[str, Any] | None = self._call(lambda sf: sf.restful(path))
            return described or {}

        key = (self.key, soql.identifier(object).lower())
        found: dict[str, Any] = SCHEMAS.get(key, self.source.schema_cache_seconds, load)
        return found

    def _forget(self, object: str, path: str) -> None:
        """Drop the cached describes ``path`` goes through from ``object``."""
        key = (self.key, soql.identifier(object).lower())
        head, _, rest = path.partition(".")
        if rest:
            for field in self.describe(object).get("fields", []):
                if (field.get("relationshipName") or "").lower() == head.lower():
                    for target in field["referenceTo"]:
                        self._forget(target, rest)
        SCHEMAS.forget(key)

    def field_types(self, object: str) -> dict[str, str]:
        """Lower-cased field name to its describe ``type`` (``datetime``, ``reference``, ...)."""
        return {f["name"].lower(): f["type"] for f in self.describe(object).get("fields", [])}

    def _has_path(self, object: str, path: str) -> bool:
        head, _, rest = path.partition(".")
        fields = self.describe(object).get("fields", [])
        if not rest:
            return any(f["name"].lower() == head.lower() for f in fields)
        for field in fields:
            if (field.get("relationshipName") or "").lower() == head.lower():
                return any(self._has_path(target, rest) for target in field["referenceTo"])
        return False

    def check_fields(self, spec: StreamSpec) -> None:
        """Raise :class:`MissingField` naming the object and every field the org lacks.

        A field the cached describes lack is asked for again before the stream fails.
        """
        wanted = [spec.modified_field, *spec.fields, *(f.field for f in spec.filters)]
        missing = [name for name in dict.fromkeys(wanted) if not self._has_path(spec.object, name)]
        if missing:  # perhaps created since the describes were cached: ask again first
            for name in missing:
                self._forget(spec.object, name)
            missing = [name for name in missing if not self._has_path(spec.object, name)]
        if missing:
            names = [f["name"] for f in self.describe(spec.object).get("fields", [])]
            close = difflib.get_close_matches(missing[0], names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise MissingField(self.name, spec.object, missing, hint)

    # -- pull -------------------------------------------------------------------------------

    def _query_headers(self) -> dict[str, str]:
        return {"Sforce-Query-Options": f"batchSize={self.page_size}"} if self.page_size else {}

    def pull(self, spec: StreamSpec, since: Watermark | None) -> Iterator[Page]:
        """Yield pages of records with ``modified >= since - lookback``, ordered (modified, Id)."""
        self.check_fields(spec)
        types = self.field_types(spec.object)
        if since is None and self._large(spec, types):
            yield from self._bulk(spec, types)
            return
        lookback = timedelta(seconds=self.source.lookback_seconds)
        start = since.modified_at - lookback if since else None
        yield from self._pages(
            spec, lambda at: soql.changed_since(spec, at, types), start, since, deleted=False
        )

    def _large(self, spec: StreamSpec, types: dict[str, str]) -> bool:
        """Whether a first load is big enough for Bulk 2.0 (one ``SELECT COUNT()`` call)."""
        if not self.source.bulk_threshold or not sf_bulk.supported(spec):
            return False
        text = soql.count(spec, types)
        total = int(self._call(lambda sf: sf.query(text)).get("totalSize", 0))
        log.info("salesforce_initial_load", source=self.name, object=spec.object, records=total)
        return total > self.source.bulk_threshold

    def _bulk(self, spec: StreamSpec, types: dict[str, str]) -> Iterator[Page]:
        self.budget.check()
        cols = sf_bulk.columns(spec, lambda name: self.describe(name).get("fields", []))
        reader = sf_bulk.BulkReader(
            call=self._call,
            version=self.source.api_version,
            sleep=self.retry.sleep,
            between_pages=self.budget.check,
            page_size=self.page_size or sf_bulk.PAGE_SIZE,
        )
        yield from reader.pages(spec, cols, sf_bulk.query(spec, cols, types))

    def deletions(self, spec: StreamSpec, since: datetime | None) -> Iterator[Page]:
        """Yield pages of deleted records (``queryAll``, ``IsDeleted = true``) since ``since``.

        Objects without ``IsDeleted`` have no Recycle Bin and yield nothing. ``queryAll``
        sees a deleted record only while it sits in the Recycle Bin, which
        Salesforce empties after :data:`RECYCLE_BIN`. When ``since`` is older than that, the
        org is asked (getDeleted's ``earliestDateAvailable``: when the newest record purged
        from it was deleted) whether anything deleted after ``since`` is gone already; if so,
        no listing can be complete and :class:`DeletionsOutOfReach` says to run ``--full``
        (a reconcile against every live Id) rather than pass for a complete listing.
        """
        if "isdeleted" not in self.field_types(spec.object):
            # No Recycle Bin for this object (DatedConversionRate, CurrencyType, ...): nothing
            # to list; records removed from it are caught by a full pull's reconcile.
            log.info("salesforce_no_deletions", source=self.name, object=spec.object)
            return
        if since is not None and since < datetime.now(UTC) - RECYCLE_BIN:
            earliest = self._delete_log_start(spec.object)
            if earliest is None or since < earliest:
                raise DeletionsOutOfReach(
                    f"source {self.name!r}: stream {spec.name!r}: deletions of {spec.object} "
                    f"were last listed at {since.isoformat()}, and Salesforce has since purged "
                    f"records deleted after that from its Recycle Bin (it keeps them "
                    f"{RECYCLE_BIN.days} days); run `partnerplan run --full --stream "
                    f"{spec.name}` once to reconcile, then incremental runs continue"
                )
        floor = Watermark(since, "") if since else None
        yield from self._pages(
            spec, lambda at: soql.deleted_since(spec, at), since, floor, deleted=True
        )

    def _delete_log_start(self, object: str) -> datetime | None:
        """getDeleted's ``earliestDateAvailable`` for ``object``; None if the org will not say."""
        end = datetime.now(UTC).replace(microsecond=0)
        params = {"start": (end - timedelta(days=1)).isoformat(), "end": end.isoformat()}
        path = f"sobjects/{soql.identifier(object)}/deleted/"
        try:
            answer = self._call(lambda sf: sf.restful(path, params=params)) or {}
        except (ConfigurationError, RecordError):  # not replicateable / may not ask: unknown
            return None
        earliest = answer.get("earliestDateAvailable")
        return parse_timestamp(earliest) if earliest else None

    def _pages(
        self,
        spec: StreamSpec,
        build: Callable[[datetime | None], str],
        start: datetime | None,
        floor: Watermark | None,
        deleted: bool,
    ) -> Iterator[Page]:
        self.budget.check()
        headers = self._query_headers()
        last: datetime | None = None
        tie: set[str] = set()
        restarts = 0

        def first(at: datetime | None) -> Any:
            query = build(at)
            return self._call(lambda sf: sf.query(query, include_deleted=deleted, headers=headers))

        result = first(start)
        while True:
            fresh: list[dict[str, Any]] = []
            for record in result.get("records", []):
                stamp = parse_timestamp(_value(record, spec.modified_field))
                if last is not None and (stamp < last or (stamp == last and record["Id"] in tie)):
                    continue
                if stamp != last:
                    last, tie = stamp, set()
                tie.add(record["Id"])
                fresh.append(record)
            if fresh and last is not None:
                restarts = 0
                mark = Watermark(last, fresh[-1]["Id"])
                yield Page(fresh, max(mark, floor) if floor else mark, deleted)
            next_url = result.get("nextRecordsUrl")
            if result.get("done", True) or not next_url:
                return
            self.budget.check()
            try:
                result = self._more(next_url, headers)
            except QueryLocatorExpired:
                restarts += 1
                if restarts > self.retry.attempts:
                    raise
                log.warning("salesforce_query_restart", source=self.name, object=spec.object)
                result = first(last or start)

    def _more(self, url: str, headers: dict[str, str]) -> Any:
        return self._call(
            lambda sf: sf.query_more(url, True, headers=headers),
            give_up_on=(QueryLocatorExpired,),
        )

    # -- writes -----------------------------------------------------------------------------

    def upsert(
        self, object: str, key_field: str, records: list[dict[str, Any]]
    ) -> list[WriteResult]:
        """Upsert by external id with sObject Collections: 200 a call, ``allOrNone=false``."""
        path = f"composite/sobjects/{soql.identifier(object)}/{soql.identifier(key_field)}"
        keyed = [
            (str(r.get(key_field, "")), {"attributes": {"type": object}, **r}) for r in records
        ]
        return self._write(path, keyed)

    def update(self, object: str, records: list[dict[str, Any]]) -> list[WriteResult]:
        """Update records by Id with sObject Collections (records carry ``"Id"``)."""
        soql.identifier(object)
        results: dict[int, WriteResult] = {}
        keyed: list[tuple[str, dict[str, Any]]] = []
        positions: list[int] = []
        for index, record in enumerate(records):
            fields = {k: v for k, v in record.items() if k.lower() != "id"}
            record_id = str(record.get("Id") or record.get("id") or "")
            if not soql.is_record_id(record_id):
                error = f"{record_id!r} is not a Salesforce record Id; nothing was sent for it"
                results[index] = WriteResult(record_id, False, error=error)
                continue
            keyed.append((record_id, {"attributes": {"type": object}, "id": record_id, **fields}))
            positions.append(index)
        for index, result in zip(positions, self._write("composite/sobjects", keyed), strict=True):
            results[index] = result
        return [results[i] for i in range(len(records))]

    def delete(self, object: str, ids: list[str]) -> list[WriteResult]:
        """Delete by Id with sObject Collections: 200 a call, ``allOrNone=false``."""
        soql.identifier(object)
        results: list[WriteResult] = []
        for batch in chunks(ids, BATCH_SIZE):
            wanted = ",".join(i for i in batch if soql.is_record_id(i))

            def send(sf: Salesforce, wanted: str = wanted) -> Any:
                self.write_calls += 1
                params = {"ids": wanted, "allOrNone": "false"}
                return sf.restful("composite/sobjects", method="DELETE", params=params)

            answer = self._call(send) or []
            by_id = {str(item.get("id")): item for item in answer if item.get("id")}
            for record_id in batch:
                item = by_id.get(record_id)
                ok = item is not None and bool(item.get("success"))
                error = None if ok else (_result(record_id, item).error if item else "not deleted")
                results.append(WriteResult(record_id, ok, record_id, False, error))
        return results

    def attach(self, files: list[FileUpload]) -> list[WriteResult]:
        """Salesforce Files linked to their records (:mod:`connectors.salesforce.files`)."""
        return sf_files.attach(self._create, self._query_all, files)

    def _create(self, records: list[dict[str, Any]]) -> list[WriteResult]:
        keyed = [(str(index), record) for index, record in enumerate(records)]
        return self._write("composite/sobjects", keyed, method="POST")

    def _query_all(self, text: str) -> list[dict[str, Any]]:
        answer = self._call(lambda sf: sf.query_all(text))
        return list(answer.get("records", []))

    def _write(
        self, path: str, keyed: list[tuple[str, dict[str, Any]]], method: str = "PATCH"
    ) -> list[WriteResult]:
        results: list[WriteResult] = []
        for batch in chunks(keyed, BATCH_SIZE):
            results.extend(
                isolate(
                    batch,
                    lambda part: self._send(path, part, method),
                    lambda item, exc: WriteResult(item[0], False, error=str(exc)),
                    RecordError,
                )
            )
        return results

    def _send(
        self, path: str, batch: Sequence[tuple[str, dict[str, Any]]], method: str = "PATCH"
    ) -> list[WriteResult]:
        payload = dumps({"allOrNone": False, "records": [record for _, record in batch]})

        def send(sf: Salesforce) -> Any:
            self.write_calls += 1
            return sf.restful(path, method=method, data=payload)

        items = self._call(send) or []
        if len(items) != len(batch):
            raise RecordError(
                f"source {self.name!r}: Salesforce answered {len(items)} results for "
                f"{len(batch)} records"
            )
        return [_result(key, item) for (key, _), item in zip(batch, items, strict=True)]

    def horizon(self, started_at: datetime) -> datetime:
        """A SOQL pull reads every change committed before it started."""
        return started_at

    def usage(self) -> ApiUsage:
        """Calls made (logins and retries included) and the org's daily usage."""
        return ApiUsage(self.session.calls, self.write_calls, self.budget.used, self.budget.limit)


def observe_usage(budget: Budget, headers: Mapping[str, str]) -> None:
    """Feed ``Sforce-Limit-Info: api-usage=N/M`` to the budget when the response carries it."""
    value = headers.get("Sforce-Limit-Info")
    match = _SFORCE_USAGE.search(value) if value else None
    if match:
        budget.observe(int(match.group(1)), int(match.group(2)))


def _value(record: dict[str, Any], field: str) -> Any:
    if field in record:
        return record[field]
    lowered = field.lower()
    for key, value in record.items():
        if key.lower() == lowered:
            return value
    raise KeyError(field)


def _result(key: str, item: dict[str, Any]) -> WriteResult:
    errors = item.get("errors") or []
    reason = "; ".join(
        f"{e.get('statusCode', 'ERROR')}: {e.get('message', '')}"
        + (f" ({', '.join(e['fields'])})" if e.get("fields") else "")
        for e in errors
    )
    ok = bool(item.get("success"))
    if not ok and not reason:
        reason = "Salesforce rejected the record without giving a reason"
    return WriteResult(
        key=key,
        ok=ok,
        record_id=item.get("id"),
        created=item.get("created"),
        error=None if ok else reason,
    )
