"""HubSpot attachments for plans: Files API uploads, shown on the plan through a note.

A file is uploaded once (``POST /files/v3/files``, one call each: the API has no batch upload)
to the folder ``/partnerplan``, privately; a note associated with the plan carries it in
``hs_attachment_ids`` and names it in its body. Notes are created in batches of 100 and
associated with their plans in batches of 100 (v4 default associations). A changed file is
uploaded again and its note updated to point at the new file (batch update, 100 a call); the
note stays where it was. A link attachment has no file: its note's body holds the link.

Assumption: the Files API's ``access: PRIVATE`` keeps the file out of public search while the
note shows it to the portal's users; partners reach it only through a portal page built on it.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from connectors.base import FileUpload, WriteResult
from connectors.hubspot.dialect import BATCH_SIZE
from connectors.wire import chunks

FOLDER = "/partnerplan"
Request = Callable[..., Any]
Associate = Callable[[str, str, list[tuple[str, str]]], list[WriteResult]]
Update = Callable[[str, list[dict[str, Any]]], list[WriteResult]]


def _body(upload: FileUpload) -> str:
    text = f"<p>Plan attachment: <strong>{escape(upload.title)}</strong></p>"
    if upload.url:
        text += f'<p><a href="{escape(upload.url)}">{escape(upload.url)}</a></p>'
    return text


def upload_file(request: Request, api: Any, upload: FileUpload) -> str:
    """Upload one file's bytes; the new file's id."""
    name = Path(upload.filename or upload.title).name
    with tempfile.TemporaryDirectory(prefix="partnerplan-") as folder:
        path = Path(folder) / name
        path.write_bytes(upload.content or b"")
        answer = request(
            api.upload,
            write=True,
            file=str(path),
            folder_path=FOLDER,
            file_name=name,
            options=json.dumps({"access": "PRIVATE", "overwrite": False}),
        )
    return str((answer or {})["id"])


def note_properties(upload: FileUpload, file_id: str | None) -> dict[str, str]:
    """The note that shows an attachment on its record."""
    return {
        "hs_timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "hs_note_body": _body(upload),
        "hs_attachment_ids": file_id or "",
    }


def attach(
    files: list[FileUpload],
    *,
    upload: Callable[[FileUpload], str],
    create_notes: Callable[[list[dict[str, Any]]], Any],
    associate: Associate,
    update: Update,
) -> list[WriteResult]:
    """Upload the files, then show each on its record with a note; one result per file.

    A new attachment's note is created (100 a call, matched back by ``objectWriteTraceId``)
    and associated with its record; a changed one's note (its holder) is updated to the new
    file. A note created but not associated is reported failed with its id, so the next push
    updates it rather than create another.
    """
    uploaded = {f.key: upload(f) for f in files if f.content is not None}
    results: dict[str, WriteResult] = {}
    for batch in chunks([f for f in files if not f.holder], BATCH_SIZE):
        inputs = [
            {"properties": note_properties(f, uploaded.get(f.key)), "objectWriteTraceId": f.key}
            for f in batch
        ]
        answer = create_notes(inputs) or {}
        notes = {str(r.get("objectWriteTraceId")): str(r["id"]) for r in answer.get("results", [])}
        by_object: dict[str, list[tuple[FileUpload, str]]] = {}
        for file in batch:
            note = notes.get(file.key)
            if note is None:
                results[file.key] = WriteResult(file.key, False, error="no note created")
            else:
                by_object.setdefault(file.object, []).append((file, note))
        for object, landed in by_object.items():
            linked = associate("notes", object, [(n, f.record_id) for f, n in landed])
            for (file, note), link in zip(landed, linked, strict=True):
                results[file.key] = WriteResult(file.key, link.ok, note, True, link.error)
    again = [f for f in files if f.holder]
    if again:
        changes = [{"id": f.holder, **note_properties(f, uploaded.get(f.key))} for f in again]
        for file, result in zip(again, update("notes", changes), strict=True):
            results[file.key] = WriteResult(file.key, result.ok, file.holder, False, result.error)
    return [results[f.key] for f in files]
