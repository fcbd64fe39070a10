"""The `Connector` protocol: what every CRM connector offers the stages above it.

A connector turns "what changed in this CRM object since the watermark" into a lazy stream of
pages of raw records, and "these values for these records" into the fewest write calls the CRM
allows. It owns authentication, pagination, retries, rate limits and API budgets, so nothing
above it knows HTTP. Each CRM's folder implements it (``connectors/<crm>/connector.py``); the
registry (:mod:`connectors.registry`) builds the one a source's ``type:`` names.

Pull contract (the worker relies on each point):

* Pages come ordered by ``(modified, id)``; ``Page.watermark`` is the ``(modified, id)`` of the
  page's last record, so persisting it together with the page's data never skips a record that
  a later page holds.
* Each pull starts ``lookback_seconds`` before the watermark, so records that commit late (or
  share the watermark's timestamp) are read again rather than missed; the store dedupes them.
* When the configured share of the daily API budget is spent, :class:`BudgetExhausted` is raised
  between two pages, after the last complete page has been yielded, never in the middle of one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from connectors.spec import StreamSpec


@dataclass(frozen=True, order=True)
class Watermark:
    """How far a stream has been read: the (modified time, record id) of the last stored record.

    Ordering is lexicographic, the same order the connectors read in, so ``a < b`` means ``b``
    is further along.
    """

    modified_at: datetime
    record_id: str


@dataclass
class Page:
    """One page of raw records, as the CRM returned them.

    Attributes:
        records: Raw records. HubSpot records carry ``"associations": {"companies": [ids]}``
            when the stream asked for associations.
        watermark: The ``(modified, id)`` of the page's last record: safe to persist once this
            page (and every earlier one) is stored; ``None`` for an empty page.
        deleted: True for pages of deleted / archived records.
    """

    records: list[dict[str, Any]]
    watermark: Watermark | None
    deleted: bool = False


@dataclass
class WriteResult:
    """The outcome of writing one record.

    Attributes:
        key: The caller's key for the record (its external id, or its record id for updates).
        ok: Whether the CRM accepted the record.
        record_id: The CRM's id for the record, when known.
        created: True if the write created the record, False if it updated one, None if unknown.
        error: The CRM's reason when ``ok`` is false (code and message, never a credential).
    """

    key: str
    ok: bool
    record_id: str | None = None
    created: bool | None = None
    error: str | None = None


@dataclass
class ApiUsage:
    """API calls this connector made, and the daily budget as the CRM last reported it.

    Attributes:
        calls: HTTP calls made by this connector (every attempt, retries included).
        write_calls: The subset of ``calls`` that wrote records.
        daily_used: Calls used today across the whole org/portal, from the CRM's headers.
        daily_max: The org's/portal's daily call allowance, from the CRM's headers.
    """

    calls: int
    write_calls: int
    daily_used: int | None
    daily_max: int | None


class Connector(Protocol):
    """Pulls changed records from one CRM and writes values back to it."""

    name: str
    concurrency: int
    """How many of this source's streams one process may sync at once (its CRM's limits)."""
    deletions_every: timedelta | None
    """How often an incremental pull lists deletions; None: every pull. For a CRM whose
    deletions listing cannot start from a point in time (HubSpot's archived listing), so that
    each listing costs all of it; a first or full pull always lists."""

    def check_fields(self, spec: StreamSpec) -> None:
        """Raise ConfigurationError naming the object and field if the CRM lacks a field."""
        ...

    def pull(self, spec: StreamSpec, since: Watermark | None) -> Iterator[Page]:
        """Yield pages of records changed since ``since`` (minus the lookback), in order."""
        ...

    def deletions(self, spec: StreamSpec, since: datetime | None) -> Iterator[Page]:
        """Yield pages of records deleted / archived since ``since``."""
        ...

    def upsert(
        self, object: str, key_field: str, records: list[dict[str, Any]]
    ) -> list[WriteResult]:
        """Create-or-update ``records`` by the external id ``key_field``; one result each."""
        ...

    def update(self, object: str, records: list[dict[str, Any]]) -> list[WriteResult]:
        """Update existing records by CRM record id (each record carries ``"Id"`` / ``"id"``)."""
        ...

    def usage(self) -> ApiUsage:
        """API calls made so far and the daily budget last reported by the CRM."""
        ...

    def horizon(self, started_at: datetime) -> datetime:
        """The time up to which a pull started at ``started_at`` reads every change.

        The stream's data is complete as of this time once the pull completes (the trust
        rule): the start itself, or earlier where the CRM's search trails its writes.
        """
        ...


@dataclass(frozen=True)
class FileUpload:
    """A file (or a link) to attach to a CRM record, as the plan push hands it to a connector.

    Attributes:
        key: The caller's key for it (the result names it).
        object: The object of the record it is attached to.
        record_id: That record's id.
        title: What the CRM shows.
        filename: The file's name (None for a link).
        content: The file's bytes (None for a link).
        url: The link (None for a file).
        holder: What an earlier upload of this attachment returned (Salesforce: the
            ContentDocument; HubSpot: the note): the new content becomes its new version.
    """

    key: str
    object: str
    record_id: str
    title: str
    filename: str | None = None
    content: bytes | None = None
    url: str | None = None
    holder: str | None = None


@runtime_checkable
class Attaching(Protocol):
    """A connector that can attach files to records (Salesforce Files, HubSpot Files + notes)."""

    def attach(self, files: list[FileUpload]) -> list[WriteResult]:
        """Upload and attach each file, in the fewest calls; one result per file, keyed by its
        ``key``, whose ``record_id`` is the holder to pass back for a later new version."""
        ...


@runtime_checkable
class Deleting(Protocol):
    """A connector that can delete records by id (a plan's part removed from its plan)."""

    def delete(self, object: str, ids: list[str]) -> list[WriteResult]:
        """Delete (or archive) each record, in the CRM's batches; one result per id."""
        ...


@runtime_checkable
class Associating(Protocol):
    """A connector whose CRM ties records together by association (HubSpot), not by lookup."""

    def associate(
        self, object: str, to_object: str, pairs: list[tuple[str, str]]
    ) -> list[WriteResult]:
        """Associate each ``(record id, other record id)``; one result per pair."""
        ...
