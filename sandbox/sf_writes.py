"""Salesforce writes: sObject rows (create/read/update/delete), upsert by external id, Collections.

Status codes follow the REST guide: create 201 + Location, update/delete 204, upsert 201 created
/ 200 updated (API >= 46), 300 when an external id matches several rows. Collections answer 200
with one result per record even when records fail; ``allOrNone`` rolls the whole call back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandbox.httpbase import Request, Response, json_response
from sandbox.sf_org import SalesforceOrg
from sandbox.sf_schema import OBJECTS, SObject, sobject
from sandbox.sf_sharing import NO_ACCESS, can_read, refuse_create
from sandbox.sf_store import DmlError

MAX_COLLECTION = 200
_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using"
    " AllOrNone header",
    "fields": [],
}
_FAULT = DmlError(
    "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Sandbox fault: rejected by a validation rule", []
)


def _error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return json_response(status, [body])


def _not_found() -> Response:
    return _error(404, "NOT_FOUND", "The requested resource does not exist")


def routes(org: SalesforceOrg) -> list[tuple[str, re.Pattern[str], Callable[..., Response]]]:
    """The write routes, bound to ``org``."""
    writes = Writes(org)
    return [
        ("GET", re.compile(r"^sobjects/(\w+)$"), writes.basic),
        ("POST", re.compile(r"^sobjects/(\w+)$"), writes.create),
        ("GET", re.compile(r"^sobjects/(\w+)/(\w+)$"), writes.get),
        ("PATCH", re.compile(r"^sobjects/(\w+)/(\w+)$"), writes.update),
        ("DELETE", re.compile(r"^sobjects/(\w+)/(\w+)$"), writes.delete),
        ("GET", re.compile(r"^sobjects/(\w+)/(\w+)/([^/]+)$"), writes.get_by_external),
        ("PATCH", re.compile(r"^sobjects/(\w+)/(\w+)/([^/]+)$"), writes.upsert),
        ("POST", re.compile(r"^composite/sobjects$"), writes.collection_create),
        ("PATCH", re.compile(r"^composite/sobjects$"), writes.collection_update),
        ("DELETE", re.compile(r"^composite/sobjects$"), writes.collection_delete),
        ("PATCH", re.compile(r"^composite/sobjects/(\w+)/(\w+)$"), writes.collection_upsert),
    ]


class Writes:
    """Handlers for every write route.

    A partner portal user's session (:mod:`sf_sharing`) reads only what sharing gives it (any
    other record is not found), creates only responses to plans it reads, and edits nothing.
    """

    def __init__(self, org: SalesforceOrg) -> None:
        self.org, self.store = org, org.store

    def _hidden(self, request: Request, o: SObject, record: dict[str, Any] | None) -> bool:
        """Whether a partner user's session may not see ``record`` (or it does not exist)."""
        principal = self.org.principal(request)
        if record is None:
            return True
        return principal is not None and not can_read(self.store, principal, o.name, record)

    def _read_only(self, request: Request) -> Response | None:
        """The refusal of an edit or delete by a partner user's session, or None."""
        if self.org.principal(request) is None:
            return None
        return _error(400, NO_ACCESS[0], NO_ACCESS[1])

    def _creator(self, request: Request, o: SObject, values: dict[str, Any]) -> str | None:
        """The partner user creating a record (None: the integration user); raises when the
        partner may not create it."""
        principal = self.org.principal(request)
        if principal is None:
            return None
        refused = refuse_create(self.store, principal, o.name, values)
        if refused is not None:
            raise DmlError(refused[0], refused[1], [])
        return principal.user_id

    def basic(self, request: Request, version: str, name: str) -> Response:
        """``GET /sobjects/{name}``: the object's summary."""
        o = sobject(name)
        if o is None:
            return _not_found()
        return json_response(
            200, {"objectDescribe": {"name": o.name, "keyPrefix": o.prefix}, "recentItems": []}
        )

    def create(self, request: Request, version: str, name: str) -> Response:
        """``POST /sobjects/{name}``: 201 with ``{id, success, errors}`` and a Location."""
        o = sobject(name)
        if o is None:
            return _not_found()
        try:
            values = _body(request)
            creator = self._creator(request, o, values)
            record_id = self.store.insert(o.name, values, creator=creator)
        except DmlError as exc:
            return _error(400, exc.status_code, exc.message, exc.fields)
        self.org.faults.wrote()
        location = f"/services/data/v{version}/sobjects/{o.name}/{record_id}"
        return json_response(
            201, {"id": record_id, "success": True, "errors": []}, {"Location": location}
        )

    def get(self, request: Request, version: str, name: str, record_id: str) -> Response:
        """``GET /sobjects/{name}/{id}``."""
        o = sobject(name)
        record = self.store.find(o.name, record_id) if o else None
        if o is None or self._hidden(request, o, record):
            return _not_found()
        assert record is not None
        return json_response(200, self.store.render(o.name, record, version))

    def update(self, request: Request, version: str, name: str, record_id: str) -> Response:
        """``PATCH /sobjects/{name}/{id}``: 204."""
        o = sobject(name)
        if o is None or self._hidden(request, o, self.store.find(o.name, record_id)):
            return _not_found()
        refused = self._read_only(request)
        if refused is not None:
            return refused
        try:
            self.store.update(o.name, record_id, _body(request))
        except DmlError as exc:
            status = 404 if exc.status_code in {"NOT_FOUND", "ENTITY_IS_DELETED"} else 400
            return _error(status, exc.status_code, exc.message, exc.fields)
        self.org.faults.wrote()
        return Response(204)

    def delete(self, request: Request, version: str, name: str, record_id: str) -> Response:
        """``DELETE /sobjects/{name}/{id}``: 204; the row moves to the Recycle Bin."""
        o = sobject(name)
        if o is None or self._hidden(request, o, self.store.find(o.name, record_id)):
            return _not_found()
        refused = self._read_only(request)
        if refused is not None:
            return refused
        self.store.delete(o.name, record_id)
        self.org.faults.wrote()
        return Response(204)

    def _external(self, o: SObject, field: str) -> str | None:
        f = o.field(field)
        return f.name if f is not None and (f.external_id or f.name == "Id") else None

    def get_by_external(
        self, request: Request, version: str, name: str, field: str, value: str
    ) -> Response:
        """``GET /sobjects/{name}/{ExtField}/{value}``."""
        o = sobject(name)
        key = self._external(o, field) if o else None
        if o is None or key is None:
            return _not_found()
        found = self.store.find_by(o.name, key, value)
        found = [r for r in found if not self._hidden(request, o, r)]
        if len(found) > 1:
            return json_response(300, [self._url(o, r["Id"], version) for r in found])
        if not found:
            return _not_found()
        return json_response(200, self.store.render(o.name, found[0], version))

    def _url(self, o: SObject, record_id: str, version: str) -> str:
        return f"/services/data/v{version}/sobjects/{o.name}/{record_id}"

    def upsert(self, request: Request, version: str, name: str, field: str, value: str) -> Response:
        """``PATCH /sobjects/{name}/{ExtField}/{value}``: 201 created, 200 updated, 300 ambiguous"""
        o = sobject(name)
        key = self._external(o, field) if o else None
        if o is None or key is None:
            return _not_found()
        refused = self._read_only(request)
        if refused is not None:
            return refused
        body = _body(request)
        if any(k.lower() in {key.lower(), "id"} for k in body):
            return _error(
                400,
                "INVALID_FIELD",
                f"The {key} field should not be specified in the sobject data.",
                [key],
            )
        found = self.store.find_by(o.name, key, value)
        if len(found) > 1:
            return json_response(300, [self._url(o, r["Id"], version) for r in found])
        try:
            if found:
                record_id = found[0]["Id"]
                self.store.update(o.name, record_id, body)
            else:
                record_id = self.store.insert(o.name, {**body, key: value})
        except DmlError as exc:
            return _error(400, exc.status_code, exc.message, exc.fields)
        self.org.faults.wrote()
        result = {"id": record_id, "success": True, "errors": [], "created": not found}
        return json_response(200 if found else 201, result)

    def _collection(self, request: Request) -> tuple[bool, list[dict[str, Any]]] | Response:
        body = request.json() or {}
        records = body.get("records")
        if not isinstance(records, list):
            return _error(400, "JSON_PARSER_ERROR", "records: a list of records is required")
        if len(records) > MAX_COLLECTION:
            # The exact code for more than 200 records is unverified; this one is our assumption.
            return _error(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {MAX_COLLECTION} records"
                " in this operation",
            )
        return bool(body.get("allOrNone", False)), records

    def _run(
        self, all_or_none: bool, records: list[dict[str, Any]], check: Callable[..., Any]
    ) -> Response:
        """Validate every record, then apply (all, or the valid ones) and answer 200."""
        prepared: list[Any] = []
        errors: list[DmlError | None] = []
        for position, record in enumerate(records):
            try:
                prepared.append(check(position, record))
                errors.append(None)
            except DmlError as exc:
                prepared.append(None)
                errors.append(exc)
        if all_or_none and any(errors):
            return json_response(
                200,
                [
                    {"success": False, "errors": [e.as_error() if e else _ROLLED_BACK]}
                    for e in errors
                ],
            )
        results = []
        for apply, failure in zip(prepared, errors, strict=True):
            if failure is not None:
                results.append({"success": False, "errors": [failure.as_error()]})
                continue
            try:
                results.append({"success": True, "errors": [], **apply()})
            except DmlError as exc:
                results.append({"success": False, "errors": [exc.as_error()]})
        self.org.faults.wrote()
        return json_response(200, results)

    def _typed(
        self, record: dict[str, Any], expected: SObject | None = None
    ) -> tuple[SObject, dict[str, Any]]:
        kind = (record.get("attributes") or {}).get("type")
        o = sobject(kind) if isinstance(kind, str) else None
        if o is None or (expected is not None and o.name != expected.name):
            raise DmlError("INVALID_TYPE", "sObject type is missing or does not match", [])
        values = {k: v for k, v in record.items() if k != "attributes"}
        self.store.coerce(o, {k: v for k, v in values.items() if k.lower() != "id"})
        return o, values

    def collection_create(self, request: Request, version: str) -> Response:
        """``POST /composite/sobjects``."""
        parsed = self._collection(request)
        if isinstance(parsed, Response):
            return parsed

        def check(position: int, record: dict[str, Any]) -> Callable[[], dict[str, Any]]:
            o, values = self._typed(record)
            if "id" in {k.lower() for k in values}:
                raise DmlError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            if self.org.faults.write_fails(position, []):
                raise _FAULT
            creator = self._creator(request, o, values)
            return lambda: {"id": self.store.insert(o.name, values, creator=creator)}

        return self._run(*parsed, check)

    def collection_update(self, request: Request, version: str) -> Response:
        """``PATCH /composite/sobjects``: each record carries ``id``."""
        refused = self._read_only(request)
        if refused is not None:
            return refused
        parsed = self._collection(request)
        if isinstance(parsed, Response):
            return parsed

        def check(position: int, record: dict[str, Any]) -> Callable[[], dict[str, Any]]:
            o, values = self._typed(record)
            record_id = values.get("id") or values.get("Id")
            if not record_id or self.store.find(o.name, str(record_id)) is None:
                raise DmlError(
                    "MALFORMED_ID", f"{o.name} ID: id value of incorrect type: {record_id}", ["Id"]
                )
            if self.org.faults.write_fails(position, [str(record_id)]):
                raise _FAULT

            def apply() -> dict[str, Any]:
                self.store.update(o.name, str(record_id), values)
                return {"id": record_id}

            return apply

        return self._run(*parsed, check)

    def collection_delete(self, request: Request, version: str) -> Response:
        """``DELETE /composite/sobjects?ids=a,b&allOrNone=false``."""
        refused = self._read_only(request)
        if refused is not None:
            return refused
        wanted = [i for i in (request.param("ids") or "").split(",") if i]
        all_or_none = (request.param("allOrNone") or "false").lower() == "true"

        def check(position: int, record_id: str) -> Callable[[], dict[str, Any]]:
            for name in OBJECTS:
                if self.store.find(name, record_id) is not None:
                    return lambda: self._delete(name, record_id)
            raise DmlError("ENTITY_IS_DELETED", "entity is deleted", [])

        return self._run(all_or_none, wanted, check)  # type: ignore[arg-type]

    def _delete(self, name: str, record_id: str) -> dict[str, Any]:
        self.store.delete(name, record_id)
        return {"id": record_id}

    def collection_upsert(self, request: Request, version: str, name: str, field: str) -> Response:
        """``PATCH /composite/sobjects/{name}/{ExtField}``: UpsertResults with ``created``."""
        o = sobject(name)
        key = self._external(o, field) if o else None
        if o is None or key is None:
            return _not_found()
        refused = self._read_only(request)
        if refused is not None:
            return refused
        parsed = self._collection(request)
        if isinstance(parsed, Response):
            return parsed
        seen: set[Any] = set()

        def check(position: int, record: dict[str, Any]) -> Callable[[], dict[str, Any]]:
            assert o is not None and key is not None
            _, values = self._typed(record, o)
            value = values.get(key)
            if value in (None, ""):
                raise DmlError("MISSING_ARGUMENT", f"{key} not specified", [key])
            if value in seen:  # behaviour for repeats inside one call is unverified; assumed
                raise DmlError(
                    "DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", [key]
                )
            seen.add(value)
            if self.org.faults.write_fails(position, [str(value)]):
                raise _FAULT
            found = self.store.find_by(o.name, key, value)
            if len(found) > 1:
                raise DmlError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{key}: more than one record found for external id field: {value}",
                    [key],
                )

            def apply() -> dict[str, Any]:
                assert o is not None
                if found:
                    self.store.update(o.name, found[0]["Id"], values)
                    return {"id": found[0]["Id"], "created": False}
                return {"id": self.store.insert(o.name, values), "created": True}

            return apply

        return self._run(*parsed, check)


def _body(request: Request) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise DmlError("JSON_PARSER_ERROR", "The request body must be a JSON object", [])
    return {k: v for k, v in body.items() if k != "attributes"}
