"""A compiled stream: one CRM object's mapping as plain callables, ready for millions of records.

:meth:`CompiledStream.map` turns one raw record into an :class:`Activity` or, if any field fails,
a :class:`Rejection` naming the field and the reason. A record the CRM reports deleted is never
rejected: its unreadable fields become null, so the deletion still reaches the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from connectors.spec import StreamSpec
from mappings.activity import Activity, Rejection, content_hash, json_safe
from mappings.expressions import Evaluator, Raw
from mappings.storable import amount_problem, quarantine_safe, text_problem, value_problem
from partnerplan.errors import RecordError

SLOT_TYPES: dict[str, str] = {
    "partner": "string",
    "status": "string",
    "amount": "decimal",
    "currency": "string",
    "occurred_on": "date",
    "created_at": "datetime",
    "closed_at": "datetime",
}
"""The normalized fields of an activity and the type each is coerced to."""

_SLOT_LIMITS = {"partner": 100, "status": 100}
_ID_LIMIT = 100
_KEY_LIMIT = 200
# Anything a coercion can raise on a hostile value: the record is quarantined, the run goes on.
_RECORD_ERRORS = (RecordError, ValueError, TypeError, ArithmeticError, InvalidOperation)


@dataclass(frozen=True)
class Rule:
    """One compiled output: its name, a label for messages (the source path), its evaluator."""

    name: str
    label: str
    evaluate: Evaluator


def bounded(evaluate: Evaluator, limit: int) -> Evaluator:
    """``evaluate``, refusing text longer than the store's column."""

    def check(raw: Raw) -> Any:
        value = evaluate(raw)
        if isinstance(value, str) and len(value) > limit:
            raise RecordError(f"value is {len(value)} characters long; at most {limit} fit")
        return value

    return check


def currency_code(evaluate: Evaluator) -> Evaluator:
    """``evaluate``, accepting only a 3-letter ISO currency code (upper-cased)."""

    def check(raw: Raw) -> Any:
        value = evaluate(raw)
        if value is None:
            return None
        if not (isinstance(value, str) and len(value) == 3 and value.isalpha()):
            raise RecordError(f"{value!r} is not a 3-letter ISO currency code such as USD")
        return value.upper()

    return check


def slot_rule(name: str, label: str, evaluate: Evaluator) -> Rule:
    """The rule for a normalized field, with the store's limits applied."""
    if name == "currency":
        evaluate = currency_code(evaluate)
    elif name in _SLOT_LIMITS:
        evaluate = bounded(evaluate, _SLOT_LIMITS[name])
    return Rule(name, label, evaluate)


def _slot_problem(value: Any) -> str | None:
    """Why a normalized field's value cannot be stored (money range, text, plausible dates)."""
    if isinstance(value, Decimal):
        return amount_problem(value)
    return value_problem(value)


def _missing_id(raw: Raw) -> str:
    encoded = orjson.dumps(quarantine_safe(raw), default=str)
    digest = hashlib.blake2b(encoded, digest_size=8).hexdigest()
    return f"missing-id:{digest}"


@dataclass
class CompiledStream:
    """A stream's mapping compiled once; :meth:`map` is the per-record hot path.

    Attributes:
        name: Stream name, unique across all mapping files.
        source: Source name from settings.yaml.
        object: The CRM object.
        kind: The activity kind every record becomes.
        file: The mapping file it was defined in (for located messages).
        lines: Lines of ``kind`` and of each ``attributes.NAME`` in that file.
    """

    name: str
    source: str
    object: str
    kind: str
    record_id: Rule
    modified: Rule
    deleted: Rule
    slots: tuple[Rule, ...]
    attributes: tuple[Rule, ...]
    stream_spec: StreamSpec
    file: str = ""
    lines: dict[str, int] = field(default_factory=dict)

    def spec(self) -> StreamSpec:
        """What the connector must fetch for this stream."""
        return self.stream_spec

    def map_many(self, raws: Iterable[Raw]) -> Iterator[Activity | Rejection]:
        """Map records lazily, one result per record, in order."""
        for raw in raws:
            yield self.map(raw)

    def map(self, raw: Raw, *, deleted: bool = False) -> Activity | Rejection:
        """Map one raw record; ``deleted`` marks a record the connector saw deleted.

        Every value is also checked against what the store can hold
        (:mod:`mappings.storable`): a record with one that it cannot is rejected, naming the
        field, so that the rest of its page is stored.
        """
        try:
            record_id = self.record_id.evaluate(raw)
        except _RECORD_ERRORS:
            record_id = None
        if record_id is None or len(str(record_id)) > _ID_LIMIT:
            reason = f"no usable record id at {self.record_id.label}"
            return self._reject(raw, _missing_id(raw), "record_id", reason)
        record_id = str(record_id)
        unstorable = text_problem(record_id)
        if unstorable:
            reason = f"{self.record_id.label}: the record id {unstorable}"
            return self._reject(raw, _missing_id(raw), "record_id", reason)
        if not deleted:
            try:
                deleted = bool(self.deleted.evaluate(raw))
            except _RECORD_ERRORS:
                deleted = False
        values: list[Any] = []
        for rule in self.slots:
            try:
                value = rule.evaluate(raw)
            except _RECORD_ERRORS as exc:
                if not deleted:
                    return self._reject(raw, record_id, rule.name, f"{rule.label}: {exc}")
                value = None
            unstorable = _slot_problem(value)
            if unstorable:
                if not deleted:
                    return self._reject(raw, record_id, rule.name, f"{rule.label}: {unstorable}")
                value = None
            values.append(value)
        attributes: dict[str, Any] = {}
        for rule in self.attributes:
            field_name = f"attributes.{rule.name}"
            try:
                value = json_safe(rule.evaluate(raw))
            except _RECORD_ERRORS as exc:
                if not deleted:
                    return self._reject(raw, record_id, field_name, f"{rule.label}: {exc}")
                value = None
            unstorable = value_problem(value)
            if unstorable:
                if not deleted:
                    return self._reject(raw, record_id, field_name, f"{rule.label}: {unstorable}")
                value = None
            attributes[rule.name] = value
        partner, status, amount, currency, occurred_on, created_at, closed_at = values
        if self.kind == "rate" and not deleted:
            problem = _rate_problem(amount, currency, occurred_on, attributes)
            if problem is not None:
                return self._reject(raw, record_id, problem[0], problem[1])
        if self.kind == "partner":
            partner = record_id
            key = attributes.get("key") or f"{self.source}:{record_id}"
            if len(str(key)) > _KEY_LIMIT:
                reason = f"partner key is longer than {_KEY_LIMIT} characters"
                return self._reject(raw, record_id, "attributes.key", reason)
            attributes["key"] = str(key)
        try:
            modified = self.modified.evaluate(raw)
        except _RECORD_ERRORS:
            modified = None
        digest = content_hash(
            self.kind,
            partner,
            status,
            amount,
            currency,
            occurred_on,
            created_at,
            closed_at,
            attributes,
            deleted,
        )
        return Activity(
            source=self.source,
            stream=self.name,
            object=self.object,
            record_id=record_id,
            kind=self.kind,
            partner_ref=partner,
            status=status,
            amount=amount,
            currency=currency,
            occurred_on=occurred_on,
            created_at=created_at,
            closed_at=closed_at,
            attributes=attributes,
            source_modified_at=modified,
            deleted=deleted,
            content_hash=digest,
        )

    def _reject(self, raw: Raw, record_id: str, field_name: str, reason: str) -> Rejection:
        return Rejection(self.source, self.name, self.object, record_id, raw, field_name, reason)


def _rate_problem(
    amount: Any, currency: Any, occurred_on: Any, attributes: dict[str, Any]
) -> tuple[str, str] | None:
    """Why a ``rate`` record cannot be a rate (field, reason), or None when it can."""
    for name, value in (("currency", currency), ("amount", amount), ("occurred_on", occurred_on)):
        if value is None:
            return name, f"a rate needs {name}; this record has none"
    if amount <= 0:
        return "amount", f"a rate must be positive, not {amount}"
    base = attributes.get("base")
    if not (isinstance(base, str) and len(base) == 3 and base.isalpha()):
        return "attributes.base", f"{base!r} is not a 3-letter ISO currency code such as USD"
    return None
