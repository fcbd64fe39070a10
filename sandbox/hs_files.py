"""HubSpot's Files API (``/files/v3/files``): a multipart upload, and reading a file back.

hubspot-api-client's ``files.files_api.upload(file=PATH, folder_path=..., file_name=...,
options=JSON)`` posts ``multipart/form-data`` with the file's bytes in ``file`` and the other
arguments as form fields; the answer is ``201`` with the File (``id``, ``name``, ``extension``,
``size``, ``url``, ``access``, ...). Files are kept in memory with their content's SHA-256 so
tests can tell a new upload from an old one. Assumption: the File body lists the fields the
client's model reads; a real portal adds more (``width``, ``height``, ``encoding``...).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import orjson

from sandbox.formats import hs_datetime, now_ms
from sandbox.hs_portal import HubSpotPortal
from sandbox.hs_store import HsError
from sandbox.httpbase import Request, Response, json_response

FIRST_ID = 180_000_000_000


def routes(portal: HubSpotPortal) -> list[tuple[str, re.Pattern[str], Callable[..., Response]]]:
    """The file routes, bound to a fresh file store of ``portal``."""
    files = Files(portal)
    return [
        ("POST", re.compile(r"^/files/v3/files$"), files.upload),
        ("GET", re.compile(r"^/files/v3/files/(\d+)$"), files.get),
    ]


def _form(request: Request) -> dict[str, tuple[str | None, bytes]]:
    """The multipart body's parts: name → (file name, bytes)."""
    head = f"Content-Type: {request.header('content-type')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str):
            parts[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return parts


class Files:
    """The portal's uploaded files."""

    def __init__(self, portal: HubSpotPortal) -> None:
        self.portal = portal
        self.lock = threading.Lock()
        self.files: dict[str, dict[str, Any]] = {}

    def upload(self, request: Request) -> Response:
        """``POST /files/v3/files``: 201 with the new File."""
        form = _form(request)
        if "file" not in form:
            raise HsError(400, "VALIDATION_ERROR", "Missing required field: file")
        filename, content = form["file"]
        name = form.get("fileName", (None, b""))[1].decode() or filename or "file"
        folder = form.get("folderPath", (None, b"/"))[1].decode() or "/"
        options = orjson.loads(form["options"][1]) if "options" in form else {}
        stem, _, extension = name.rpartition(".") if "." in name else (name, "", "")
        with self.lock:
            file_id = str(FIRST_ID + len(self.files))
            stamp = hs_datetime(now_ms())
            body = {
                "id": file_id,
                "name": stem or name,
                "extension": extension,
                "path": f"{folder.rstrip('/')}/{name}",
                "size": len(content),
                "type": "OTHER",
                "access": options.get("access", "PRIVATE"),
                "url": f"{self.portal.url}/hubfs/{file_id}/{name}",
                "createdAt": stamp,
                "updatedAt": stamp,
                "archived": False,
                "sha256": hashlib.sha256(content).hexdigest(),
            }
            self.files[file_id] = body
        self.portal.faults.wrote()
        return json_response(201, {k: v for k, v in body.items() if k != "sha256"})

    def get(self, request: Request, file_id: str) -> Response:
        """``GET /files/v3/files/{id}``."""
        found = self.files.get(file_id)
        if found is None:
            raise HsError(404, "OBJECT_NOT_FOUND", f"File {file_id} not found")
        return json_response(200, {k: v for k, v in found.items() if k != "sha256"})
