"""The Salesforce org's data: generated tables plus DML with Salesforce's validation and stamps."""

from __future__ import annotations

from datetime import date
from typing import Any

from sandbox import sf_rules
from sandbox.formats import now_ms, parse_instant, sf_datetime
from sandbox.sf_data import SalesforceData
from sandbox.sf_reference import INTEGRATION_USER
from sandbox.sf_schema import NUMBER_TYPES, OBJECTS, SObject, sobject
from sandbox.table import Record, Table
from sandbox.world import World

_STAMPS = ("CreatedDate", "LastModifiedDate", "SystemModstamp")


class DmlError(Exception):
    """A record Salesforce would refuse: ``status_code`` as in SaveResult errors."""

    def __init__(self, status_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status_code, self.message, self.fields = status_code, message, fields or []

    def as_error(self) -> dict[str, Any]:
        """The error as it appears inside SaveResult / UpsertResult."""
        return {"statusCode": self.status_code, "message": self.message, "fields": self.fields}


def _now() -> int:
    """Salesforce stamps have whole seconds: same-second ties are common, as in real orgs."""
    ms = now_ms()
    return ms - ms % 1000


class SalesforceStore:
    """Every sObject's table, and the writes the REST API and the test helpers make."""

    def __init__(self, world: World, generated: bool = True) -> None:
        data = SalesforceData(world if generated else World(world.seed, 0, world.anchor))
        if not generated:
            data.counts = dict.fromkeys(data.counts, 0)
        self.tables: dict[str, Table] = {name: data.table(name) for name in OBJECTS}
        self._keys: dict[tuple[str, str], dict[Any, set[int]]] = {}

    def sobject(self, name: str) -> SObject | None:
        """The sObject called ``name`` in any case."""
        return sobject(name)

    def table(self, name: str) -> Table:
        """The table of sObject ``name`` (exact API name)."""
        return self.tables[name]

    def lookup(self, name: str, record_id: str | None) -> Record | None:
        """Follow a lookup: the record of ``name`` with ``record_id`` (deleted ones hidden)."""
        if not record_id:
            return None
        record = self.tables[name].get(record_id)
        return None if record is None or record["_del"] else record

    def find(self, name: str, record_id: str) -> Record | None:
        """A live record by id (15 or 18 characters)."""
        return self.lookup(name, record_id)

    def find_by(self, name: str, field: str, value: Any) -> list[Record]:
        """Live records whose ``field`` equals ``value`` (external-id upserts)."""
        if field == "Id":
            found = self.find(name, str(value))
            return [found] if found else []
        table = self.tables[name]
        records = (table.record(i) for i in sorted(self._key_index(name, field).get(value, ())))
        return [r for r in records if r is not None and not r["_del"] and r.get(field) == value]

    def _key_index(self, name: str, field: str) -> dict[Any, set[int]]:
        """value → indexes for an external-id field: built by one scan, then kept current."""
        index = self._keys.get((name, field))
        if index is None:
            index = {}
            table = self.tables[name]
            for position in table.by_index():
                record = table.record(position)
                if record is not None and record.get(field) is not None:
                    index.setdefault(record[field], set()).add(position)
            self._keys[(name, field)] = index
        return index

    def _reindex(self, name: str, record: Record) -> None:
        for (table, field), index in self._keys.items():
            if table == name and record.get(field) is not None:
                index.setdefault(record[field], set()).add(record["_i"])

    def coerce(self, o: SObject, values: dict[str, Any], trusted: bool = False) -> dict[str, Any]:
        """JSON field values → stored values, refusing what Salesforce refuses.

        Raises:
            DmlError: unknown or read-only field, wrong type, dangling lookup.
        """
        out: dict[str, Any] = {}
        for key, value in values.items():
            if key == "attributes":
                continue
            f = o.field(key)
            parent = o.relationship(key) if f is None and isinstance(value, dict) else None
            if parent is not None:
                out[parent.name] = self._by_key(parent.reference_to or "", key, value)
                continue
            if f is None:
                raise DmlError(
                    "INVALID_FIELD", f"No such column '{key}' on sobject of type {o.name}", [key]
                )
            if not f.updateable and not trusted:
                raise DmlError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {f.name}. Please check the security"
                    " settings of this field and verify that it is read/write for your profile"
                    " or permission set.",
                    [f.name],
                )
            out[f.name] = self._value(o, f.name, f.type, value, f.reference_to, f.values)
        return out

    def _by_key(self, target: str, relationship: str, value: dict[str, Any]) -> str:
        """A parent set by its external id (``"Plan__r": {"External_Id__c": "K"}``): its Id."""
        o = OBJECTS.get(target)
        items = [(k, v) for k, v in value.items() if k != "attributes"]
        field = o.field(items[0][0]) if o is not None and len(items) == 1 else None
        if o is None or field is None or not (field.external_id or field.name == "Id"):
            raise DmlError(
                "INVALID_FIELD",
                f"{relationship}: a parent reference names one external id field of {target}",
                [relationship],
            )
        key = items[0][1]
        found = self.find_by(o.name, field.name, key)
        if len(found) != 1:
            raise DmlError(
                "INVALID_FIELD",
                f"Foreign key external ID: {key} not found for field {field.name} in entity "
                f"{o.name}",
                [relationship],
            )
        return str(found[0]["Id"])

    def _value(
        self, o: SObject, name: str, kind: str, value: Any, target: str | None, values: Any
    ) -> Any:
        if value is None:
            return None
        bad = DmlError(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{name}: value not of required type: {value}",
            [name],
        )
        try:
            if kind == "datetime":
                return value if isinstance(value, int) else parse_instant(str(value))
            if kind == "date":
                return date.fromisoformat(str(value)).isoformat()
        except ValueError as exc:
            raise bad from exc
        if kind in NUMBER_TYPES:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad
            return float(value)
        if kind == "boolean":
            if not isinstance(value, bool):
                raise bad
            return value
        if not isinstance(value, str):
            raise bad
        if name == "CurrencyIsoCode" and value not in values:
            raise DmlError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Currency ISO Code: invalid currency code: {value}",
                [name],
            )
        if kind == "reference" and target and name != "Id" and self.lookup(target, value) is None:
            raise DmlError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name])
        return value

    def _derive(self, o: SObject, record: Record) -> None:
        if o.name == "Opportunity":
            stage = record.get("StageName") or ""
            record["IsClosed"] = stage.startswith("Closed")
            record["IsWon"] = stage == "Closed Won"
        sf_rules.derive(self, o.name, record)

    def _checked(self, o: SObject, record: Record, trusted: bool) -> None:
        """Formulas, then (for API writes) the validation rules, as DML errors."""
        self._derive(o, record)
        if trusted:
            return
        try:
            sf_rules.validate(self, o.name, record)
        except sf_rules.RuleError as exc:
            raise DmlError(sf_rules.VALIDATION, exc.message, exc.fields) from exc

    def insert(
        self,
        name: str,
        values: dict[str, Any],
        trusted: bool = False,
        creator: str | None = None,
    ) -> str:
        """Create a record with its system fields filled; return its id.

        ``trusted`` (test helpers and ``--data``) may also set Id, CreatedDate and the stamps;
        ``creator`` is the user creating it (default: the integration user).
        """
        o = OBJECTS[name]
        fields = self.coerce(o, values, trusted)
        table = self.tables[name]
        index = table.new_index()
        stamp = _now()
        record: Record = {f.name: None for f in o.fields}
        record.update(IsDeleted=False, CreatedDate=stamp, LastModifiedDate=stamp)
        record["SystemModstamp"] = stamp
        for f in o.fields:
            if f.type == "boolean" and f.name != "IsDeleted":
                record[f.name] = False
        # the API user (the OAuth flows' integration user) creates, changes and owns it
        user = creator or INTEGRATION_USER
        record.update(CreatedById=user, LastModifiedById=user)
        if o.field("OwnerId") is not None:
            record["OwnerId"] = user
        record.update(fields)
        record["Id"] = fields.get("Id") or table.id_of(index)
        record["LastModifiedDate"] = fields.get("LastModifiedDate", record["SystemModstamp"])
        self._checked(o, record, trusted)
        sf_rules.before_insert(self, name, record)
        record.update(_i=index, _ms=record["SystemModstamp"], _del=bool(record["IsDeleted"]))
        table.put(record, record["Id"])
        self._reindex(name, record)
        sf_rules.after_insert(self, name, record)
        return str(record["Id"])

    def update(
        self, name: str, record_id: str, values: dict[str, Any], trusted: bool = False
    ) -> None:
        """Change a live record and bump LastModifiedDate and SystemModstamp to now.

        Raises:
            DmlError: ENTITY_IS_DELETED / NOT_FOUND, or a field Salesforce would refuse.
        """
        o = OBJECTS[name]
        current = self.tables[name].get(record_id)
        if current is None:
            raise DmlError("NOT_FOUND", "The requested resource does not exist", ["Id"])
        if current["_del"]:
            raise DmlError("ENTITY_IS_DELETED", "entity is deleted", [])
        fields = self.coerce(o, {k: v for k, v in values.items() if k not in {"Id", "id"}}, trusted)
        record = dict(current)
        record.update(fields)
        stamp = _now()
        record.update(LastModifiedDate=stamp, SystemModstamp=stamp, _ms=stamp)
        record["LastModifiedById"] = INTEGRATION_USER
        self._checked(o, record, trusted)
        self.tables[name].put(record)
        self._reindex(name, record)

    def delete(self, name: str, record_id: str) -> None:
        """Move a record to the Recycle Bin: only ``queryAll`` sees it, with ``IsDeleted``.

        Raises:
            DmlError: the record does not exist or is already deleted.
        """
        current = self.tables[name].get(record_id)
        if current is None or current["_del"]:
            raise DmlError("ENTITY_IS_DELETED", "entity is deleted", [])
        stamp = _now()
        record = dict(current)
        record.update(IsDeleted=True, SystemModstamp=stamp, _ms=stamp, _del=True)
        self.tables[name].put(record)

    def render(self, name: str, record: Record, version: str) -> dict[str, Any]:
        """A whole record as ``GET /sobjects/{name}/{id}`` returns it."""
        o = OBJECTS[name]
        out: dict[str, Any] = {
            "attributes": {
                "type": name,
                "url": f"/services/data/v{version}/sobjects/{name}/{record['Id']}",
            }
        }
        for f in o.fields:
            value = record.get(f.name)
            out[f.name] = (
                sf_datetime(value) if f.type == "datetime" and value is not None else value
            )
        return out

    def records(
        self, name: str, version: str = "62.0", purged_before: int | None = None
    ) -> list[dict[str, Any]]:
        """Every record of ``name`` in id order, deleted ones included (with ``IsDeleted``).

        ``purged_before`` leaves out records deleted before that instant (no longer in the
        org at all); None keeps every record the store holds.
        """
        table = self.tables[name]
        out = []
        for index in table.by_index():
            ms, deleted = table.stamp(index)
            if deleted and purged_before is not None and ms < purged_before:
                continue
            record = table.record(index)
            if record is not None:
                out.append(self.render(name, record, version))
        return out


STAMP_FIELDS = _STAMPS
