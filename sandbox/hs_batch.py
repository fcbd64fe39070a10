"""HubSpot single-object and batch writes: create, update, upsert, read, archive.

Semantics (hubspot-api.md §2.4): at most 100 inputs; duplicate ids reject the whole call (400);
``idProperty`` must be a unique-valued property; unknown ids and injected failures come back
as 207 with ``errors``; creates answer 201, archive 204.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandbox.formats import hs_datetime, now_ms
from sandbox.hs_portal import HubSpotPortal
from sandbox.hs_schema import PORTAL, ObjectType
from sandbox.hs_store import HsError
from sandbox.httpbase import Request, Response, json_response

MAX_INPUTS = 100


def routes(portal: HubSpotPortal) -> list[tuple[str, re.Pattern[str], Callable[..., Response]]]:
    """The write routes, bound to ``portal``."""
    batch = Batch(portal)
    base = r"^/crm/v3/objects/([\w-]+)"
    return [
        ("POST", re.compile(base + "$"), batch.create_one),
        ("PATCH", re.compile(base + r"/(\w+)$"), batch.update_one),
        ("DELETE", re.compile(base + r"/(\w+)$"), batch.archive_one),
        ("POST", re.compile(base + "/batch/read$"), batch.read),
        ("POST", re.compile(base + "/batch/create$"), batch.create),
        ("POST", re.compile(base + "/batch/update$"), batch.update),
        ("POST", re.compile(base + "/batch/upsert$"), batch.upsert),
        ("POST", re.compile(base + "/batch/archive$"), batch.archive),
    ]


def _fault_error(key: str) -> dict[str, Any]:
    return {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": f"Sandbox fault: input {key} was rejected",
        "context": {"ids": [key]},
    }


class Batch:
    """Handlers for writes."""

    def __init__(self, portal: HubSpotPortal) -> None:
        self.portal, self.store = portal, portal.store

    def _inputs(self, request: Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        body = request.json() or {}
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise HsError(400, "VALIDATION_ERROR", "inputs: a list of inputs is required")
        if len(inputs) > MAX_INPUTS:
            # The exact message for more than 100 inputs is unverified; this wording is ours.
            raise HsError(
                400,
                "VALIDATION_ERROR",
                f"The maximum number of inputs supported in a batch request is {MAX_INPUTS}."
                " Please reduce the number of items and try again",
            )
        return body, inputs

    def _unique(self, kind: ObjectType, prop: str) -> None:
        definition = kind.props.get(prop)
        if definition is None or not definition.unique:
            raise HsError(
                400,
                "VALIDATION_ERROR",
                f"Unable to perform update/upsert by non-unique {kind.type_id} property {prop}"
                f" in portal ID {PORTAL}",
            )

    def _duplicates(self, keys: list[str]) -> None:
        seen, repeated = set(), []
        for key in keys:
            if key in seen and key not in repeated:
                repeated.append(key)
            seen.add(key)
        if repeated:
            raise HsError(
                400,
                "VALIDATION_ERROR",
                f"Duplicate IDs found in batch input: [{', '.join(repeated)}]. IDs must be unique",
                context={"ids": repeated},
            )

    def _envelope(
        self, results: list[dict[str, Any]], errors: list[dict[str, Any]], started: int, ok: int
    ) -> Response:
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            body["numErrors"] = len(errors)
            body["errors"] = errors
        body["startedAt"] = hs_datetime(started)
        body["completedAt"] = hs_datetime(now_ms())
        return json_response(207 if errors else ok, body)

    def _missing(self, kind: ObjectType, ids: list[str]) -> dict[str, Any]:
        return {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"Could not get some {kind.singular.upper()} objects, they may be deleted"
            " or not exist. Check that ids are valid.",
            "context": {"ids": ids},
        }

    def _locate(self, kind: ObjectType, key: str, id_property: str | None) -> dict[str, Any] | None:
        table = self.store.table(kind)
        if id_property:
            index = self.store.unique_index(kind, id_property).get(key)
            record = table.record(index) if index is not None else None
        else:
            record = table.get(key)
        return None if record is None or record["_del"] else record

    def create_one(self, request: Request, type_name: str) -> Response:
        """``POST /crm/v3/objects/{type}``: 201."""
        kind = self.store.kind(type_name)
        body = request.json() or {}
        record = self.store.create(kind, self.store.coerce(kind, body.get("properties") or {}))
        self._associate(kind, record["p"]["hs_object_id"], body.get("associations") or [])
        self.portal.faults.wrote()
        return json_response(
            201, self.store.render(kind, record, list(body.get("properties") or {}))
        )

    def _associate(
        self, kind: ObjectType, record_id: str, associations: list[dict[str, Any]]
    ) -> None:
        for association in associations:
            to_id = str((association.get("to") or {}).get("id", ""))
            for to in self.store.tables:
                if self.store.tables[to].get(to_id) is not None:
                    self.store.link(kind, record_id, self.store.kind(to, api=False), to_id)

    def update_one(self, request: Request, type_name: str, record_id: str) -> Response:
        """``PATCH /crm/v3/objects/{type}/{id}``: 200."""
        kind = self.store.kind(type_name)
        record = self._locate(kind, record_id, request.param("idProperty"))
        if record is None:
            raise HsError(
                404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric."
            )
        props = (request.json() or {}).get("properties") or {}
        updated = self.store.update(kind, record, self.store.coerce(kind, props))
        self.portal.faults.wrote()
        return json_response(200, self.store.render(kind, updated, list(props)))

    def archive_one(self, request: Request, type_name: str, record_id: str) -> Response:
        """``DELETE /crm/v3/objects/{type}/{id}``: 204 (also for an unknown id, as HubSpot does)."""
        kind = self.store.kind(type_name)
        record = self._locate(kind, record_id, None)
        if record is not None:
            self.store.archive(kind, record)
            self.portal.faults.wrote()
        return Response(204)

    def read(self, request: Request, type_name: str) -> Response:
        """``POST …/batch/read``: 200, or 207 when some ids are unknown."""
        kind = self.store.kind(type_name)
        started = now_ms()
        body, inputs = self._inputs(request)
        id_property = body.get("idProperty")
        if id_property:
            self._unique(kind, id_property)
        archived = (request.param("archived") or "false").lower() == "true"
        properties = [p for p in body.get("properties") or [] if isinstance(p, str)]
        results, missing = [], []
        for item in inputs:
            key = str(item.get("id", ""))
            record = (
                self.store.table(kind).get(key)
                if not id_property
                else self._locate(kind, key, id_property)
            )
            if record is None or record["_del"] != archived:
                missing.append(key)
                continue
            results.append(self.store.render(kind, record, properties))
        self.portal.faults.served(kind.name, len(results))
        return self._envelope(
            results, [self._missing(kind, missing)] if missing else [], started, 200
        )

    def create(self, request: Request, type_name: str) -> Response:
        """``POST …/batch/create``: 201, or 207 with per-input errors."""
        kind = self.store.kind(type_name)
        started = now_ms()
        _, inputs = self._inputs(request)
        prepared = [self.store.coerce(kind, item.get("properties") or {}) for item in inputs]
        results, errors = [], []
        for position, (item, props) in enumerate(zip(inputs, prepared, strict=True)):
            trace = item.get("objectWriteTraceId")
            if self.portal.faults.write_fails(position, [trace or ""]):
                failure = _fault_error(trace or str(position))
                if trace:
                    failure["context"] = {"objectWriteTraceId": [trace]}
                errors.append(failure)
                continue
            record = self.store.create(kind, props)
            self._associate(kind, record["p"]["hs_object_id"], item.get("associations") or [])
            rendered = self.store.render(kind, record, list(props))
            if trace:
                rendered["objectWriteTraceId"] = trace
            results.append(rendered)
        self.portal.faults.wrote()
        return self._envelope(results, errors, started, 201)

    def update(self, request: Request, type_name: str) -> Response:
        """``POST …/batch/update``: 200, or 207 (unknown ids, injected failures)."""
        kind = self.store.kind(type_name)
        started = now_ms()
        _, inputs = self._inputs(request)
        self._duplicates([str(item.get("id", "")) for item in inputs])
        for item in inputs:
            if item.get("idProperty"):
                self._unique(kind, item["idProperty"])
        prepared = [self.store.coerce(kind, item.get("properties") or {}) for item in inputs]
        results, errors, missing = [], [], []
        for position, (item, props) in enumerate(zip(inputs, prepared, strict=True)):
            key = str(item.get("id", ""))
            record = self._locate(kind, key, item.get("idProperty"))
            if record is None:
                missing.append(key)
                continue
            if self.portal.faults.write_fails(position, [key]):
                errors.append(_fault_error(key))
                continue
            results.append(
                self.store.render(kind, self.store.update(kind, record, props), list(props))
            )
        if missing:
            errors.insert(0, self._missing(kind, missing))
        self.portal.faults.wrote()
        return self._envelope(results, errors, started, 200)

    def upsert(self, request: Request, type_name: str) -> Response:
        """``POST …/batch/upsert`` by a unique ``idProperty``: 200 with ``new`` flags, or 207."""
        kind = self.store.kind(type_name)
        started = now_ms()
        _, inputs = self._inputs(request)
        for item in inputs:
            self._unique(kind, str(item.get("idProperty") or "hs_object_id"))
        self._duplicates([str(item.get("id", "")) for item in inputs])
        prepared = [self.store.coerce(kind, item.get("properties") or {}) for item in inputs]
        results, errors = [], []
        for position, (item, props) in enumerate(zip(inputs, prepared, strict=True)):
            key, prop = str(item.get("id", "")), str(item["idProperty"])
            if self.portal.faults.write_fails(position, [key]):
                errors.append(_fault_error(key))
                continue
            record = self._locate(kind, key, prop)
            if record is None:
                record, new = self.store.create(kind, {**props, prop: key}), True
            else:
                record, new = self.store.update(kind, record, props), False
            rendered = self.store.render(kind, record, [*props, prop])
            results.append({**rendered, "new": new})
        self.portal.faults.wrote()
        return self._envelope(results, errors, started, 200)

    def archive(self, request: Request, type_name: str) -> Response:
        """``POST …/batch/archive``: 204."""
        kind = self.store.kind(type_name)
        _, inputs = self._inputs(request)
        for item in inputs:
            record = self._locate(kind, str(item.get("id", "")), None)
            if record is not None:
                self.store.archive(kind, record)
        self.portal.faults.wrote()
        return Response(204)
