"""The HubSpot portal's data: generated tables, writes with HubSpot's validation, and rendering."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sandbox.formats import hs_datetime, ms_day, now_ms, parse_instant
from sandbox.hs_data import HubSpotData
from sandbox.hs_schema import ASSOCIATION_TYPES, TYPES, ObjectType, Prop, object_type
from sandbox.table import Record, Table
from sandbox.world import World


class HsError(Exception):
    """A request HubSpot would refuse: status, category and message as its error body has them."""

    def __init__(self, status: int, category: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.category, self.message, self.extra = status, category, message, extra


def unknown_type(name: str) -> HsError:
    """HubSpot's answer to an object type it cannot resolve."""
    return HsError(400, "", f"Unable to infer object type from: {name}")


def _invalid(problems: list[tuple[str, str, str]]) -> HsError:
    details = [
        {"isValid": False, "message": message, "error": code, "name": name}
        for name, code, message in problems
    ]
    return HsError(
        400,
        "VALIDATION_ERROR",
        "Property values were not valid: " + json.dumps(details, separators=(",", ":")),
        errors=[
            {"message": message, "code": code, "context": {"propertyName": [name]}}
            for name, code, message in problems
        ],
    )


class HubSpotStore:
    """Every object type's table plus explicit associations."""

    def __init__(self, world: World, generated: bool = True) -> None:
        data = HubSpotData(world)
        if not generated:
            data.counts = dict.fromkeys(data.counts, 0)
        self.data = data
        self.tables: dict[str, Table] = {t.name: data.table(t) for t in TYPES}
        self.links: dict[tuple[str, str, str], list[str]] = {}
        self._unique: dict[tuple[str, str], dict[str, int]] = {}

    def kind(self, name: str, *, api: bool = True) -> ObjectType:
        """The object type ``name`` refers to; raises HsError when there is none.

        ``api=False`` (the sandbox's helpers and ``--data``) also accepts a custom object's
        bare name, which the API refuses.
        """
        found = object_type(name, api=api)
        if found is None:
            raise unknown_type(name)
        return found

    def table(self, kind: ObjectType) -> Table:
        """The table of ``kind``."""
        return self.tables[kind.name]

    def get(self, kind: ObjectType, record_id: str) -> Record | None:
        """A record (archived included) by id."""
        return self.tables[kind.name].get(record_id)

    def render(
        self,
        kind: ObjectType,
        record: Record,
        properties: list[str] | None = None,
        associations: list[ObjectType] | None = None,
        history: list[str] | None = None,
    ) -> dict[str, Any]:
        """One object as the API returns it: only requested properties (else the defaults).

        ``history`` names properties for ``propertiesWithHistory``. The sandbox keeps no
        history: each gets its current value as one entry stamped with ``updatedAt`` (the
        entry's keys are the spec's ``ValueWithTimestamp``; ``sourceType`` API is assumed).
        """
        props: dict[str, Any] = record["p"]
        wanted = properties if properties else kind.defaults
        shown = {name: props.get(name) for name in wanted if name in kind.props}
        for name in ("hs_object_id", kind.created, kind.modified):
            shown[name] = props.get(name)
        out: dict[str, Any] = {
            "id": props["hs_object_id"],
            "properties": shown,
            "createdAt": hs_datetime(record["_created"]),
            "updatedAt": hs_datetime(record["_ms"]),
            "archived": record["_del"],
        }
        if record["_del"]:
            out["archivedAt"] = hs_datetime(record["_archived"])
        if history:
            stamp = hs_datetime(record["_ms"])
            out["propertiesWithHistory"] = {
                name: [{"value": props.get(name), "timestamp": stamp, "sourceType": "API"}]
                for name in history
                if name in kind.props and props.get(name) is not None
            }
        if associations:
            found: dict[str, Any] = {}
            for to in associations:
                linked = self.associated(kind, record, to)
                if not linked:
                    continue
                label = f"{kind.singular}_to_{to.singular}"
                primary = ASSOCIATION_TYPES.get((kind.name, to.name), (None, 0, ""))[0]
                results = []
                for position, to_id in enumerate(linked):
                    if position == 0 and primary is not None:
                        results.append({"id": to_id, "type": label})
                    results.append({"id": to_id, "type": f"{label}_unlabeled"})
                found[to.name] = {"results": results}
            if found:
                out["associations"] = found
        return out

    def associated(self, kind: ObjectType, record: Record, to: ObjectType) -> list[str]:
        """Ids of ``to`` records associated with ``record`` (primary first, no duplicates)."""
        linked = list(record["_assoc"].get(to.name, ()))
        for extra in self.links.get((kind.name, record["p"]["hs_object_id"], to.name), ()):
            if extra not in linked:
                linked.append(extra)
        return linked

    def link(self, kind: ObjectType, from_id: str, to: ObjectType, to_id: str) -> None:
        """Associate two records (both directions)."""
        for key, other in (
            ((kind.name, from_id, to.name), to_id),
            ((to.name, to_id, kind.name), from_id),
        ):
            current = self.links.setdefault(key, [])
            if other not in current:
                current.append(other)

    def _value(self, prop: Prop, value: Any) -> str | None:
        if value is None or value == "":
            return None if value is None else ""
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        if prop.type == "number":
            float(text)
        elif prop.type == "bool" and text.lower() not in {"true", "false"}:
            raise ValueError(text)
        elif prop.type == "datetime":
            ms = int(text) if text.isdigit() else parse_instant(text)
            return hs_datetime(ms)
        elif prop.type == "date":
            if text.isdigit():
                if int(text) % 86_400_000:
                    raise ValueError("date values must be at midnight UTC")
                return ms_day(int(text))
            return date.fromisoformat(text).isoformat()
        elif prop.type == "enumeration" and prop.options and text not in prop.options:
            raise ValueError(text)
        return text.lower() if prop.type == "bool" else text

    def coerce(self, kind: ObjectType, values: dict[str, Any]) -> dict[str, str | None]:
        """Incoming property values → stored strings; raises HsError listing every bad one."""
        out: dict[str, str | None] = {}
        problems = []
        for name, value in (values or {}).items():
            prop = kind.props.get(name)
            if prop is None:
                problems.append(
                    (name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
            elif prop.read_only:
                problems.append(
                    (
                        name,
                        "READ_ONLY_VALUE",
                        f'"{name}" is a read only property; its value cannot be set.',
                    )
                )
            else:
                try:
                    out[name] = self._value(prop, value)
                except ValueError:
                    problems.append(
                        (
                            name,
                            "INVALID_OPTION"
                            if prop.type == "enumeration"
                            else "INVALID_" + prop.type.upper(),
                            f"{value!r} was not a valid {prop.type}.",
                        )
                    )
        if problems:
            raise _invalid(problems)
        return out

    def unique_index(self, kind: ObjectType, prop: str) -> dict[str, int]:
        """value → index for a unique property: built by one scan, then kept current."""
        key = (kind.name, prop)
        index = self._unique.get(key)
        if index is None:
            index = {}
            table = self.tables[kind.name]
            for position in table.by_index():
                record = table.record(position)
                if record is not None and not record["_del"] and record["p"].get(prop):
                    index[record["p"][prop]] = position
            self._unique[key] = index
        return index

    def _reindex(self, kind: ObjectType, record: Record) -> None:
        for (name, prop), index in self._unique.items():
            if name == kind.name and record["p"].get(prop):
                index[record["p"][prop]] = record["_i"]

    def create(
        self,
        kind: ObjectType,
        props: dict[str, str | None],
        stamp: int | None = None,
        *,
        created: int | None = None,
    ) -> Record:
        """Store a new record with its system properties filled.

        ``stamp`` is its last change (default now) and ``created`` its creation (default
        ``stamp``): ``createdAt`` / the created property and ``updatedAt`` / the modified one.
        """
        table = self.tables[kind.name]
        index = table.new_index()
        stamp = stamp or now_ms()
        created = created or stamp
        record_id = table.id_of(index)
        values: dict[str, str | None] = dict.fromkeys(kind.props)
        values.update(props)
        values.update(
            {
                "hs_object_id": record_id,
                kind.created: hs_datetime(created),
                kind.modified: hs_datetime(stamp),
            }
        )
        record: Record = {
            "_i": index,
            "_ms": stamp,
            "_del": False,
            "_created": created,
            "_archived": stamp,
            "p": values,
            "_assoc": {},
        }
        table.put(record)
        self._reindex(kind, record)
        return record

    def update(self, kind: ObjectType, record: Record, props: dict[str, str | None]) -> Record:
        """Change properties; ``updatedAt`` and the modified property move to now."""
        stamp = now_ms()
        changed = {**record, "p": {**record["p"], **props}, "_ms": stamp}
        changed["p"][kind.modified] = hs_datetime(stamp)
        self.tables[kind.name].put(changed)
        self._reindex(kind, changed)
        return changed

    def archive(self, kind: ObjectType, record: Record, stamp: int | None = None) -> None:
        """Move a record to the recycle bin (at ``stamp``, default now): only ``archived=true``
        listings show it."""
        stamp = stamp or now_ms()
        archived = {**record, "_del": True, "_archived": stamp}
        self.tables[kind.name].put(archived)
        for (name, prop), index in self._unique.items():
            if name == kind.name and index.get(record["p"].get(prop) or "") == record["_i"]:
                del index[record["p"][prop]]

    def records(self, name: str) -> list[dict[str, Any]]:
        """Every record of a type in id order, archived included, with all properties."""
        kind = self.kind(name, api=False)
        table = self.tables[kind.name]
        out = []
        for index in table.by_index():
            record = table.record(index)
            if record is not None:
                rendered = self.render(kind, record, list(kind.props))
                rendered["associations"] = {
                    to: ids for to, ids in self._all_links(kind, record).items() if ids
                }
                out.append(rendered)
        return out

    def _all_links(self, kind: ObjectType, record: Record) -> dict[str, list[str]]:
        return {to.name: self.associated(kind, record, to) for to in TYPES}

    def _live(self, kind: ObjectType, record_id: str) -> Record:
        record = self.get(kind, record_id)
        if record is None or record["_del"]:
            raise HsError(
                404,
                "OBJECT_NOT_FOUND",
                f"Object not found.  objectId are usually numeric. ({record_id})",
            )
        return record

    def insert_many(self, name: str, records: list[dict[str, Any]]) -> list[str]:
        """Test helper: create records (``{"properties", "associations"}`` or plain properties)."""
        kind = self.kind(name, api=False)
        created = []
        for given in records:
            props = given.get("properties", given) if isinstance(given, dict) else {}
            record = self.create(kind, self.coerce(kind, props))
            record_id = record["p"]["hs_object_id"]
            for to_name, to_ids in (given.get("associations") or {}).items():
                for to_id in to_ids:
                    self.link(kind, record_id, self.kind(to_name, api=False), str(to_id))
            created.append(record_id)
        return created

    def update_many(self, name: str, ids: list[str], changes: dict[str, Any]) -> None:
        """Test helper: change records (modified stamps move to now)."""
        kind = self.kind(name, api=False)
        props = self.coerce(kind, changes)
        for record_id in ids:
            self.update(kind, self._live(kind, record_id), props)

    def archive_many(self, name: str, ids: list[str]) -> None:
        """Test helper: archive records."""
        kind = self.kind(name, api=False)
        for record_id in ids:
            self.archive(kind, self._live(kind, record_id))
