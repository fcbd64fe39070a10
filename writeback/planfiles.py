"""Plan attachments: uploaded once, uploaded again only when their content changes.

Each attachment's push state keeps the SHA-256 of what was uploaded (its fingerprint) and the
CRM's holder of it (Salesforce's ContentDocument, HubSpot's note): an unchanged file costs no
call; a changed one becomes a new version of the same document (Salesforce) or the note's new
file (HubSpot), so the plan keeps one entry per attachment. A file is attached to its plan's
CRM record, so it waits for the plan's record to exist (the same push writes it first).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from connectors.base import Attaching, Connector, FileUpload, WriteResult
from plans.crmplans import PLAN_RECORD
from plans.store import PushStateRow
from writeback.planparts import FileRecord


class Pusher(Protocol):
    """What uploading needs of the plan push (:class:`writeback.planpush.Pusher`)."""

    states: dict[str, PushStateRow]
    report: dict[str, Any]
    now: datetime

    @property
    def connector(self) -> Connector:
        """The destination's connector."""
        ...

    def due(self, key: str, fingerprint: str) -> bool:
        """Whether a record must be sent."""
        ...

    def record(self, key: str, wired: Any, result: WriteResult, fingerprint: str) -> None:
        """Keep one record's outcome."""
        ...


def _upload(file: FileRecord, object: str, record_id: str, holder: str | None) -> FileUpload:
    if file.path is None:
        return FileUpload(file.key, object, record_id, file.title, url=file.url, holder=holder)
    return FileUpload(
        file.key,
        object,
        record_id,
        file.title,
        filename=Path(file.path).name,
        content=file.path.read_bytes(),
        holder=holder,
    )


def push_files(pusher: Pusher, object: str, files: list[FileRecord]) -> None:
    """Upload the attachments whose content changed since their last upload (or never was)."""
    uploads: list[tuple[FileRecord, FileUpload]] = []
    for file in files:
        if not pusher.due(file.state_key, file.sha256):
            continue
        plan = pusher.states.get(PLAN_RECORD.format(key=file.plan))
        if plan is None or not plan.crm_record_id:
            continue  # the plan's record is not in the CRM yet: next push
        state = pusher.states.get(file.state_key)
        if file.path is not None and not file.path.is_file():
            missing = WriteResult(file.key, False, error=f"no file {file.path}")
            pusher.record(file.state_key, None, missing, file.sha256)
            continue
        holder = state.crm_record_id if state is not None else None
        uploads.append((file, _upload(file, object, plan.crm_record_id, holder)))
    if not uploads:
        return
    connector = pusher.connector
    if not isinstance(connector, Attaching):
        pusher.report["attachments_skipped"] = len(uploads)
        return
    results = connector.attach([upload for _, upload in uploads])
    for (file, _), result in zip(uploads, results, strict=True):
        pusher.record(file.state_key, None, result, file.sha256)
