"""What the Salesforce request handlers share: the org's records, faults, serials and Bulk jobs.

:class:`~sandbox.salesforce.SalesforceApp` composes its routes from :mod:`sf_writes`,
:mod:`sf_bulk` and :mod:`sf_replication`, so those modules cannot import it back; they are
written against :class:`SalesforceOrg`, which the app extends with routing, sessions and query
cursors.
"""

from __future__ import annotations

import threading
from array import array
from dataclasses import dataclass, field
from typing import Any

from sandbox.faults import Injector
from sandbox.formats import now_ms
from sandbox.httpbase import Request
from sandbox.sf_sharing import Principal
from sandbox.sf_store import SalesforceStore
from sandbox.soql import parse
from sandbox.soql_eval import Plan, compile_query

DEFAULT_BUDGET = 100_000
DAY_MS = 86_400_000


@dataclass
class Job:
    """One Bulk 2.0 query job and its result rows, fixed when it was created (like a cursor)."""

    id: str
    operation: str
    plan: Plan
    rows: array[int]
    created: int
    polls: int = 0
    state: str = "UploadComplete"
    extra: dict[str, Any] = field(default_factory=dict)


class SalesforceOrg:
    """One emulated org's state that outlives a request.

    Attributes:
        store: the org's records.
        faults: the fault spec and the API usage counted against the daily budget.
        lock: guards the serial and the state subclasses add; handlers run on many threads.
        jobs: open Bulk 2.0 query jobs by id, until a client deletes them.
        principals: the partner portal users' sessions, by access token (the integration
            user's sessions are not listed: they see and write everything).
    """

    def __init__(self, store: SalesforceStore) -> None:
        self.store = store
        self.faults = Injector(DEFAULT_BUDGET, "sf_daily_limit")
        self.lock = threading.Lock()
        self.jobs: dict[str, Job] = {}
        self.principals: dict[str, Principal] = {}
        self.serial = 0

    def principal(self, request: Request) -> Principal | None:
        """The partner user whose session made ``request``, or None for the integration user."""
        token = request.header("authorization").removeprefix("Bearer ").strip()
        return self.principals.get(token)

    def next_serial(self) -> int:
        """A fresh number for cursor and job ids."""
        with self.lock:
            self.serial += 1
            return self.serial

    def purged_before(self) -> int:
        """Records deleted before this instant (epoch ms) have left the Recycle Bin for good.

        Salesforce empties the bin of records deleted more than 15 days ago (Help: "Manage
        the Recycle Bin"); after that neither ``queryAll`` nor ``getDeleted`` returns them. The
        ``recycle_bin_days`` fault key shortens or lengthens the stay.
        """
        return now_ms() - self.faults.spec.recycle_bin_days * DAY_MS

    def plan(self, text: str) -> Plan:
        """Parse and compile ``text``; raises SoqlError as the API reports it."""
        return compile_query(parse(text), self.store)
