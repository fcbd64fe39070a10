"""What the org does on a write besides storing the fields: formulas, validation rules, Files.

* **Formulas** of the plan package (``crm/salesforce``): ``Awaiting_Acceptance__c``,
  ``Responded_By__c`` (the creator's name), the investment line's partner share and amounts.
* **Validation rules** of the package, with its messages: a draft plan is shared with nobody
  and a shared plan only with its partner (``Shared_With_Follows_Status``); a response answers a
  plan that is ``shared`` (``Response_To_Shared_Plan``), at its current version
  (``Response_To_Current_Version``), and a change request says what to change
  (``Changes_Need_A_Comment``). They apply to API writes, not to the sandbox's own helpers.
* **Files**: a ``ContentVersion`` without ``ContentDocumentId`` creates its ``ContentDocument``;
  one naming a document becomes that document's latest version (``VersionNumber`` counts up,
  the older versions lose ``IsLatest``). Size and MD5 checksum come from ``VersionData``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any, Protocol

from sandbox.sf_plans import PLAN, RESPONSE
from sandbox.table import Record

VALIDATION = "FIELD_CUSTOM_VALIDATION_EXCEPTION"


class RuleError(Exception):
    """A record a rule refuses: ``(status code, message, fields)`` as DML reports it."""

    def __init__(self, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.message, self.fields = message, fields or []


class Org(Protocol):
    """The store calls the rules need."""

    def lookup(self, name: str, record_id: str | None) -> Record | None:
        """A live record by id."""
        ...

    def find_by(self, name: str, field: str, value: Any) -> list[Record]:
        """Live records whose ``field`` equals ``value``."""
        ...

    def insert(self, name: str, values: dict[str, Any], trusted: bool = False) -> str:
        """Create a record; its id."""
        ...

    def update(
        self, name: str, record_id: str, values: dict[str, Any], trusted: bool = False
    ) -> None:
        """Change a record."""
        ...


def derive(org: Org, name: str, record: Record) -> None:
    """Set the formula fields of ``record`` from its other fields."""
    if name == PLAN:
        awaiting = record.get("Status__c") in ("shared", "changes_requested")
        record["Awaiting_Acceptance__c"] = awaiting
    elif name == RESPONSE:
        user = org.lookup("User", record.get("CreatedById"))
        if user is not None:
            record["Responded_By__c"] = f"{user.get('FirstName') or ''} {user['LastName']}".strip()
        record["Name"] = record.get("Name") or f"R-{str(record['Id'])[-6:]}"
    elif name == "Partner_Plan_Investment__c":
        share = record.get("Vendor_Share__c")
        amount = record.get("Amount__c")
        record["Partner_Share__c"] = None if share is None else 100.0 - share
        if amount is not None and share is not None:
            record["Vendor_Amount__c"] = round(amount * share / 100, 2)
            record["Partner_Amount__c"] = round(amount - record["Vendor_Amount__c"], 2)


def validate(org: Org, name: str, record: Record) -> None:
    """Raise :class:`RuleError` when a validation rule of the package refuses ``record``."""
    if name == PLAN:
        status, shared = record.get("Status__c"), record.get("Shared_With__c")
        if (status == "draft" and shared) or (
            shared and shared != record.get("Partner_Account__c")
        ):
            raise RuleError(
                "A draft plan is shared with nobody, and a shared plan only with its partner "
                "Account: set Shared With to the partner Account (or clear it for a draft).",
                ["Shared_With__c"],
            )
    elif name == RESPONSE:
        plan = org.lookup(PLAN, record.get("Plan__c")) or {}
        if plan.get("Status__c") != "shared":
            raise RuleError(
                "You can respond only to a plan that is shared with you and awaits your answer "
                "(status Shared with partner)."
            )
        if record.get("Plan_Version__c") != plan.get("Version__c"):
            raise RuleError(
                "The plan has changed since you opened it: reload the plan and respond to its "
                "current version."
            )
        if record.get("Response__c") == "request_changes" and not record.get("Comment__c"):
            raise RuleError("Say which changes you request in Comment.", ["Comment__c"])


def before_insert(org: Org, name: str, record: Record) -> None:
    """Fill what Salesforce fills on create (a new file version's document, size, checksum)."""
    if name != "ContentVersion":
        return
    data = record.get("VersionData")
    try:
        content = base64.b64decode(data, validate=True) if data else b""
    except (binascii.Error, ValueError):
        content = b""
    record["ContentSize"] = len(content)
    record["Checksum"] = hashlib.md5(content).hexdigest()  # noqa: S324 - Salesforce's checksum
    document = record.get("ContentDocumentId")
    previous = org.find_by("ContentVersion", "ContentDocumentId", document) if document else []
    for version in previous:
        if version.get("IsLatest"):
            org.update("ContentVersion", version["Id"], {"IsLatest": False}, trusted=True)
    record["IsLatest"] = True
    record["VersionNumber"] = str(len(previous) + 1)
    if document is None:
        record["ContentDocumentId"] = org.insert(
            "ContentDocument",
            {"Title": record.get("Title"), "ContentSize": len(content)},
            trusted=True,
        )


def after_insert(org: Org, name: str, record: Record) -> None:
    """Point a document at its latest version."""
    if name == "ContentVersion":
        org.update(
            "ContentDocument",
            record["ContentDocumentId"],
            {"LatestPublishedVersionId": record["Id"], "Title": record.get("Title")},
            trusted=True,
        )
