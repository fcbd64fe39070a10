"""Partner portal users: what the package's sharing set and permission set let them see and do.

``crm/salesforce`` gives partner users (Partner Community licence) **Read** on
``Partner_Business_Plan__c`` whose ``Shared_With__c`` is their Account and on
``Partner_Plan_Progress__c`` whose ``Partner_Account__c`` is their Account (the sharing set
``Partner_Plans``); the plan's parts and responses are master-detail children, so they follow
their plan. The permission set ``Partner_Plan_Partner_User`` lets them read those objects and
their own Account, and **create** ``Partner_Plan_Response__c`` (a detail whose master needs only
read access), nothing else. Files linked to a plan they read with ``Visibility = AllUsers`` are
theirs to read too.

What the API answers a partner user, as Salesforce does:

* a query returns only the records they may read (a query on an object outside the permission
  set is ``INVALID_TYPE``, as for an object that does not exist);
* a record they may not read is ``404 NOT_FOUND`` "The requested resource does not exist" — the
  same body as an id that does not exist, so nothing leaks about other partners' plans;
* a response to a plan they cannot read fails with ``INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY``
  (the master is out of reach); any other create, and every edit or delete, with
  ``INSUFFICIENT_ACCESS_OR_READONLY``. Assumption: these two codes and messages are the DML errors
  Salesforce reports for a missing master access and a missing object or record permission.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sandbox.sf_plans import PLAN, RESPONSE
from sandbox.table import Record

PROGRESS = "Partner_Plan_Progress__c"
CHILDREN = (
    "Partner_Plan_Section__c",
    "Partner_Plan_Action__c",
    "Partner_Plan_Investment__c",
    "Partner_Plan_Target_Account__c",
    RESPONSE,
)
READABLE = frozenset(
    {
        PLAN,
        PROGRESS,
        "Account",
        *CHILDREN,
        "ContentDocumentLink",
        "ContentDocument",
        "ContentVersion",
    }
)
"""Objects the partner permission set reads (plus Files linked to what they read)."""
NO_ACCESS = ("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")
NO_MASTER = (
    "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
    "insufficient access rights on cross-reference id",
)


@dataclass(frozen=True)
class Principal:
    """A partner portal user's session: the user and the partner Account it belongs to."""

    user_id: str
    account_id: str


class Records(Protocol):
    """The store lookups sharing needs."""

    def lookup(self, name: str, record_id: str | None) -> Record | None:
        """A live record by id."""
        ...

    def find_by(self, name: str, field: str, value: Any) -> list[Record]:
        """Live records whose ``field`` equals ``value``."""
        ...


def _plan_visible(store: Records, who: Principal, plan_id: Any) -> bool:
    plan = store.lookup(PLAN, str(plan_id)) if plan_id else None
    return plan is not None and plan.get("Shared_With__c") == who.account_id


def can_read(store: Records, who: Principal, name: str, record: Record) -> bool:
    """Whether the partner user sees ``record`` of object ``name``."""
    if name == PLAN:
        return bool(record.get("Shared_With__c") == who.account_id)
    if name == PROGRESS:
        return bool(record.get("Partner_Account__c") == who.account_id)
    if name in CHILDREN:
        return _plan_visible(store, who, record.get("Plan__c"))
    if name == "Account":
        return bool(record.get("Id") == who.account_id)
    if name == "ContentDocumentLink":
        return record.get("Visibility") == "AllUsers" and _plan_visible(
            store, who, record.get("LinkedEntityId")
        )
    if name in ("ContentDocument", "ContentVersion"):
        document = record.get("ContentDocumentId") if name == "ContentVersion" else record["Id"]
        links = store.find_by("ContentDocumentLink", "ContentDocumentId", document)
        return any(can_read(store, who, "ContentDocumentLink", link) for link in links)
    return False


def refuse_create(
    store: Records, who: Principal, name: str, values: dict[str, Any]
) -> tuple[str, str] | None:
    """Why the partner user may not create this record (code, message), or None."""
    if name != RESPONSE:
        return NO_ACCESS
    if not _plan_visible(store, who, values.get("Plan__c")):
        return NO_MASTER
    return None
