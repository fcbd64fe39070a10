"""HubSpot metadata and associations: properties (+ groups), pipelines, schemas, v4 associations."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from sandbox.formats import hs_datetime, now_ms
from sandbox.hs_owners import OWNERS
from sandbox.hs_portal import HubSpotPortal
from sandbox.hs_schema import (
    ASSOCIATION_TYPES,
    TYPES,
    ObjectType,
    Prop,
    pipelines,
    schema,
)
from sandbox.hs_store import HsError
from sandbox.httpbase import Request, Response, json_response

MAX_ASSOCIATION_INPUTS = 1000
ASSOCIATIONS_PER_PAGE = 500
"""Associations of one record per page (v4 reads; the documented default limit of the
single-record read, assumed for batch reads too)."""
_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool", "phone_number"}


def routes(portal: HubSpotPortal) -> list[tuple[str, re.Pattern[str], Callable[..., Response]]]:
    """The metadata and association routes, bound to ``portal``."""
    meta = Meta(portal)
    return [
        ("GET", re.compile(r"^/crm/v3/properties/([\w-]+)$"), meta.properties),
        ("POST", re.compile(r"^/crm/v3/properties/([\w-]+)$"), meta.create_property),
        ("GET", re.compile(r"^/crm/v3/properties/([\w-]+)/groups$"), meta.groups),
        ("POST", re.compile(r"^/crm/v3/properties/([\w-]+)/groups$"), meta.create_group),
        ("GET", re.compile(r"^/crm/v3/properties/([\w-]+)/(\w+)$"), meta.property),
        ("GET", re.compile(r"^/crm/v3/pipelines/([\w-]+)$"), meta.pipelines),
        ("GET", re.compile(r"^/crm/v3/pipelines/([\w-]+)/([\w-]+)$"), meta.pipeline),
        ("GET", re.compile(r"^/crm/v3/pipelines/([\w-]+)/([\w-]+)/stages$"), meta.stages),
        ("GET", re.compile(r"^/crm/v3/pipelines/([\w-]+)/([\w-]+)/stages/([\w-]+)$"), meta.stage),
        # The schemas API answers under both prefixes (the client uses the first; the custom
        # objects guide documents the second).
        ("GET", re.compile(r"^/crm-object-schemas/v3/schemas$"), meta.schemas),
        ("GET", re.compile(r"^/crm-object-schemas/v3/schemas/([\w-]+)$"), meta.schema),
        ("GET", re.compile(r"^/crm/v3/schemas$"), meta.schemas),
        ("GET", re.compile(r"^/crm/v3/schemas/([\w-]+)$"), meta.schema),
        ("GET", re.compile(r"^/crm/v3/owners$"), meta.owners),
        ("GET", re.compile(r"^/crm/v3/owners/(\d+)$"), meta.owner),
        (
            "POST",
            re.compile(r"^/crm/v4/associations/([\w-]+)/([\w-]+)/batch/read$"),
            meta.read_associations,
        ),
        (
            "POST",
            re.compile(r"^/crm/v4/associations/([\w-]+)/([\w-]+)/batch/create$"),
            meta.create_associations,
        ),
        (
            "POST",
            re.compile(r"^/crm/v4/associations/([\w-]+)/([\w-]+)/batch/associate/default$"),
            meta.create_associations,
        ),
        (
            "GET",
            re.compile(r"^/crm/v4/objects/([\w-]+)/(\w+)/associations/([\w-]+)$"),
            meta.associations_page,
        ),
    ]


class Meta:
    """Handlers for metadata and associations."""

    def __init__(self, portal: HubSpotPortal) -> None:
        self.portal, self.store = portal, portal.store
        self.groups_by_type: dict[str, list[dict[str, Any]]] = {
            t.name: [
                {
                    "name": t.group,
                    "label": t.singular.replace("_", " ").capitalize() + " information",
                    "displayOrder": 0,
                    "archived": False,
                }
            ]
            for t in TYPES
        }

    def properties(self, request: Request, type_name: str) -> Response:
        """``GET /crm/v3/properties/{type}``."""
        kind = self.store.kind(type_name)
        return json_response(
            200, {"results": [p.definition(kind.group) for p in kind.props.values()]}
        )

    def property(self, request: Request, type_name: str, name: str) -> Response:
        """``GET /crm/v3/properties/{type}/{name}``."""
        kind = self.store.kind(type_name)
        prop = kind.props.get(name)
        if prop is None:
            raise HsError(
                404,
                "OBJECT_NOT_FOUND",
                f"Unable to find property {name} on object type {kind.type_id}",
            )
        return json_response(200, prop.definition(kind.group))

    def create_property(self, request: Request, type_name: str) -> Response:
        """``POST /crm/v3/properties/{type}``: 201; 409 when the name exists (wording assumed)."""
        kind = self.store.kind(type_name)
        body = request.json() or {}
        name, kind_of = str(body.get("name") or ""), str(body.get("type") or "")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or kind_of not in _TYPES:
            raise HsError(
                400,
                "VALIDATION_ERROR",
                f"Invalid property definition: name {name!r}, type {kind_of!r}",
            )
        if name in kind.props:
            raise HsError(
                409, "OBJECT_ALREADY_EXISTS", f"A property named '{name}' already exists."
            )
        group = str(body.get("groupName") or kind.group)
        if group not in {g["name"] for g in self.groups_by_type[kind.name]}:
            raise HsError(400, "VALIDATION_ERROR", f"Property group {group} does not exist.")
        options = tuple(
            str(o.get("value")) for o in body.get("options") or [] if isinstance(o, dict)
        )
        prop = Prop(
            name,
            kind_of,
            options,
            bool(body.get("hasUniqueValue")),
            group=group,
            created=hs_datetime(now_ms()),
        )
        kind.props[name] = prop
        self.portal.faults.wrote()
        return json_response(201, prop.definition(group))

    def groups(self, request: Request, type_name: str) -> Response:
        """``GET /crm/v3/properties/{type}/groups``."""
        kind = self.store.kind(type_name)
        return json_response(200, {"results": self.groups_by_type[kind.name]})

    def create_group(self, request: Request, type_name: str) -> Response:
        """``POST /crm/v3/properties/{type}/groups``: 201."""
        kind = self.store.kind(type_name)
        body = request.json() or {}
        group = {
            "name": str(body.get("name")),
            "label": str(body.get("label") or body.get("name")),
            "displayOrder": int(body.get("displayOrder") or -1),
            "archived": False,
        }
        self.groups_by_type[kind.name].append(group)
        return json_response(201, group)

    def pipelines(self, request: Request, type_name: str) -> Response:
        """``GET /crm/v3/pipelines/{type}``."""
        return json_response(200, {"results": pipelines(self.store.kind(type_name))})

    def _pipeline(self, type_name: str, pipeline_id: str) -> dict[str, Any]:
        for found in pipelines(self.store.kind(type_name)):
            if found["id"] == pipeline_id:
                return found
        raise HsError(404, "OBJECT_NOT_FOUND", f"Unable to find pipeline {pipeline_id}.")

    def pipeline(self, request: Request, type_name: str, pipeline_id: str) -> Response:
        """``GET /crm/v3/pipelines/{type}/{pipelineId}``."""
        return json_response(200, self._pipeline(type_name, pipeline_id))

    def stages(self, request: Request, type_name: str, pipeline_id: str) -> Response:
        """``GET /crm/v3/pipelines/{type}/{pipelineId}/stages``."""
        return json_response(200, {"results": self._pipeline(type_name, pipeline_id)["stages"]})

    def stage(self, request: Request, type_name: str, pipeline_id: str, stage_id: str) -> Response:
        """``GET /crm/v3/pipelines/{type}/{pipelineId}/stages/{stageId}``."""
        for found in self._pipeline(type_name, pipeline_id)["stages"]:
            if found["id"] == stage_id:
                return json_response(200, found)
        raise HsError(404, "OBJECT_NOT_FOUND", f"Unable to find stage {stage_id}.")

    def owners(self, request: Request) -> Response:
        """``GET /crm/v3/owners``: ``limit`` (default 100, at most 500), ``after``, ``email``.

        Paged as the objects list is: ``after`` is the next owner's id, with a ``link``.
        """
        raw = request.param("limit") or ""
        limit = max(1, min(int(raw) if raw.isdigit() else 100, 500))
        email = (request.param("email") or "").lower()
        archived = (request.param("archived") or "false").lower() == "true"
        matching = [
            o for o in OWNERS if o["archived"] == archived and email in ("", o["email"].lower())
        ]
        after = request.param("after")
        start = next((n for n, o in enumerate(matching) if o["id"] == after), 0) if after else 0
        body: dict[str, Any] = {"results": matching[start : start + limit]}
        if start + limit < len(matching):
            following = matching[start + limit]["id"]
            query = [(k, v) for k, values in request.query.items() if k != "after" for v in values]
            link = f"{self.portal.url}{request.path}?{urlencode([*query, ('after', following)])}"
            body["paging"] = {"next": {"after": following, "link": link}}
        return json_response(200, body)

    def owner(self, request: Request, owner_id: str) -> Response:
        """``GET /crm/v3/owners/{ownerId}``."""
        for found in OWNERS:
            if found["id"] == owner_id:
                return json_response(200, found)
        raise HsError(404, "OBJECT_NOT_FOUND", f"Owner {owner_id} not found.")

    def schemas(self, request: Request) -> Response:
        """``GET /crm-object-schemas/v3/schemas`` (and ``/crm/v3/schemas``): custom objects."""
        return json_response(200, {"results": [schema(t) for t in TYPES if t.custom]})

    def schema(self, request: Request, type_name: str) -> Response:
        """``GET /crm-object-schemas/v3/schemas/{type}``."""
        kind = self.store.kind(type_name)
        if not kind.custom:
            raise HsError(404, "OBJECT_NOT_FOUND", f"No custom object schema for {type_name}")
        return json_response(200, schema(kind))

    def _types(self, kind: ObjectType, to: ObjectType, position: int) -> list[dict[str, Any]]:
        primary, unlabeled, category = ASSOCIATION_TYPES.get(
            (kind.name, to.name), (None, 0, "USER_DEFINED")
        )
        found = []
        if position == 0 and primary is not None:
            found.append({"category": category, "typeId": primary, "label": "Primary"})
        found.append({"category": category, "typeId": unlabeled, "label": None})
        return found

    def _per_page(self, asked: int | None) -> int:
        """Associations per record and page: ``asked`` (at most 500) or the forced page size."""
        return self.portal.faults.page(min(asked or ASSOCIATIONS_PER_PAGE, ASSOCIATIONS_PER_PAGE))

    def read_associations(self, request: Request, from_name: str, to_name: str) -> Response:
        """``POST /crm/v4/associations/{from}/{to}/batch/read``: 207 when some have none.

        Each result holds at most a page of one record's associations; when it has more, the
        result carries ``paging.next.after`` and the caller asks again with that ``after`` in
        the record's input (``{"id": ..., "after": ...}``), as the v4 guide describes.
        """
        kind, to = self.store.kind(from_name), self.store.kind(to_name)
        started = now_ms()
        inputs = (request.json() or {}).get("inputs") or []
        if len(inputs) > MAX_ASSOCIATION_INPUTS:
            raise HsError(
                400, "VALIDATION_ERROR", f"The maximum number of inputs is {MAX_ASSOCIATION_INPUTS}"
            )
        size = self._per_page(None)
        results, errors = [], []
        for item in inputs:
            key = str(item.get("id", ""))
            record = self.store.get(kind, key)
            linked = (
                self.store.associated(kind, record, to) if record and not record["_del"] else []
            )
            if not linked:
                errors.append({
                    "status": "error", "category": "OBJECT_NOT_FOUND",
                    "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                    "message": f"No {to.singular} is associated with {kind.singular} {key}.",
                    "context": {
                        "fromObjectId": [key],
                        "fromObjectType": [kind.singular],
                        "toObjectType": [to.singular],
                    },
                })  # fmt: skip
                continue
            start = _offset(item.get("after"))
            to_list = [
                {"toObjectId": int(to_id), "associationTypes": self._types(kind, to, n)}
                for n, to_id in enumerate(linked[start : start + size], start)
            ]
            result: dict[str, Any] = {"from": {"id": key}, "to": to_list}
            if start + size < len(linked):
                result["paging"] = {"next": {"after": str(start + size), "link": None}}
            results.append(result)
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            body.update(numErrors=len(errors), errors=errors)
        body.update(startedAt=hs_datetime(started), completedAt=hs_datetime(now_ms()))
        return json_response(207 if errors else 200, body)

    def create_associations(self, request: Request, from_name: str, to_name: str) -> Response:
        """``POST /crm/v4/associations/{from}/{to}/batch/create`` (and ``…/associate/default``)."""
        kind, to = self.store.kind(from_name), self.store.kind(to_name)
        started = now_ms()
        results = []
        for item in (request.json() or {}).get("inputs") or []:
            from_id, to_id = str(item["from"]["id"]), str(item["to"]["id"])
            if self.store.get(kind, from_id) is None or self.store.get(to, to_id) is None:
                raise HsError(
                    400, "VALIDATION_ERROR", f"Unknown object in association {from_id} → {to_id}"
                )
            self.store.link(kind, from_id, to, to_id)
            results.append(
                {
                    "fromObjectTypeId": kind.type_id,
                    "fromObjectId": int(from_id),
                    "toObjectTypeId": to.type_id,
                    "toObjectId": int(to_id),
                    "labels": [],
                }
            )
        self.portal.faults.wrote()
        return json_response(
            201,
            {
                "status": "COMPLETE",
                "results": results,
                "startedAt": hs_datetime(started),
                "completedAt": hs_datetime(now_ms()),
            },
        )

    def associations_page(
        self, request: Request, from_name: str, record_id: str, to_name: str
    ) -> Response:
        """``GET /crm/v4/objects/{t}/{id}/associations/{toT}?limit=&after=``.

        ``paging`` appears only when more pages exist (hubspot-api-python #187).
        """
        kind, to = self.store.kind(from_name), self.store.kind(to_name)
        record = self.store.get(kind, record_id)
        if record is None:
            raise HsError(404, "OBJECT_NOT_FOUND", "Object not found.")
        linked = self.store.associated(kind, record, to)
        raw = request.param("limit") or ""
        size = self._per_page(int(raw) if raw.isdigit() else None)
        start = _offset(request.param("after"))
        body: dict[str, Any] = {
            "results": [
                {"toObjectId": int(i), "associationTypes": self._types(kind, to, n)}
                for n, i in enumerate(linked[start : start + size], start)
            ]
        }
        if start + size < len(linked):
            following = str(start + size)
            query = [(k, v) for k, values in request.query.items() if k != "after" for v in values]
            link = f"{self.portal.url}{request.path}?{urlencode([*query, ('after', following)])}"
            body["paging"] = {"next": {"after": following, "link": link}}
        return json_response(200, body)


def _offset(after: Any) -> int:
    """An association page's ``after`` (our cursors are offsets; opaque to clients)."""
    text = str(after or "")
    return int(text) if text.isdigit() else 0
