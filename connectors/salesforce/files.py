"""Salesforce Files for plan attachments: ContentVersion, then a ContentDocumentLink to the plan.

A first upload creates a ``ContentVersion`` (``VersionData`` base64 for a file, ``ContentUrl``
for a link), which creates its ``ContentDocument``; one query reads the documents' ids; a
``ContentDocumentLink`` then shares each document with its plan (``ShareType = V``,
``Visibility = AllUsers`` so partner users who read the plan read the file). A changed file is a
new ``ContentVersion`` of the same document, and the link stays. Every step goes 200 records a
call (sObject Collections), so N attachments take 3 calls per 200 the first time and 1 after.

Assumption: sObject Collections accept ``ContentVersion`` with base64 ``VersionData`` within the
API's request size limit (plan attachments are documents of a few MB, not media).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from connectors.base import FileUpload, WriteResult
from connectors.salesforce.soql import is_record_id

Create = Callable[[list[dict[str, object]]], list[WriteResult]]
Query = Callable[[str], list[dict[str, object]]]


def _version(upload: FileUpload) -> dict[str, object]:
    record: dict[str, object] = {"attributes": {"type": "ContentVersion"}, "Title": upload.title}
    if upload.content is not None:
        record["PathOnClient"] = upload.filename or upload.title
        record["VersionData"] = base64.b64encode(upload.content).decode()
    else:
        record["ContentUrl"] = upload.url
    if upload.holder:
        record["ContentDocumentId"] = upload.holder
    return record


def attach(create: Create, query: Query, files: list[FileUpload]) -> list[WriteResult]:
    """Upload ``files`` and link the new documents to their records; one result per file."""
    versions = create([_version(f) for f in files])
    results: dict[str, WriteResult] = {}
    fresh: dict[str, FileUpload] = {}
    for upload, written in zip(files, versions, strict=True):
        if not written.ok:
            results[upload.key] = WriteResult(upload.key, False, error=written.error)
        elif upload.holder:
            results[upload.key] = WriteResult(upload.key, True, upload.holder, False)
        else:
            fresh[str(written.record_id)] = upload
    if fresh:
        ids = ", ".join(f"'{version}'" for version in fresh if is_record_id(version))
        text = f"SELECT Id, ContentDocumentId FROM ContentVersion WHERE Id IN ({ids})"  # noqa: S608 - ids checked to be record ids
        rows = query(text)
        documents = {str(r["Id"]): str(r["ContentDocumentId"]) for r in rows}
        pending = [(fresh[v], documents[v]) for v in fresh if v in documents]
        links = create(
            [
                {
                    "attributes": {"type": "ContentDocumentLink"},
                    "ContentDocumentId": document,
                    "LinkedEntityId": upload.record_id,
                    "ShareType": "V",
                    "Visibility": "AllUsers",
                }
                for upload, document in pending
            ]
        )
        for (upload, document), link in zip(pending, links, strict=True):
            results[upload.key] = WriteResult(
                upload.key, link.ok, document if link.ok else None, True, link.error
            )
    return [
        results.get(f.key) or WriteResult(f.key, False, error="Salesforce returned no document")
        for f in files
    ]
