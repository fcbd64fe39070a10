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

from connectors.base import FileUpload

FOLDER = "/partnerplan"
Request = Callable[..., Any]


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
