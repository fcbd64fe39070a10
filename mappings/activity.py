"""What a mapping produces: a normalized :class:`Activity`, or a :class:`Rejection` to quarantine.

Both are plain frozen values so they cross into ``plans`` without dragging the mapping rules
along. An activity's ``content_hash`` covers its normalized content only (not the raw record and
not the modification timestamp), so a record touched in the CRM without a change that matters
hashes the same and the store writes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Activity:
    """One normalized CRM record; field names are the columns of ``plans.store.ActivityRow``.

    Attributes:
        source: Source name from settings.yaml.
        stream: The mapping stream that produced it.
        object: The CRM object it came from.
        record_id: Its id in the source.
        kind: Activity kind (``opportunity``, ``lead``, ..., or ``partner``).
        partner_ref: The partner's record id in this source (Account Id / company id).
        status: Normalized status of the kind.
        amount: Exact amount, in ``currency``.
        currency: ISO currency code.
        occurred_on: The business date metrics bucket by.
        created_at: When the record was created (aware UTC).
        closed_at: When it closed (aware UTC).
        attributes: Extra JSON-safe values metrics filter or group on.
        source_modified_at: The CRM's modification timestamp.
        deleted: The record was deleted in the CRM (kept so metrics can exclude it).
        content_hash: Hash of the normalized content: equal hash means nothing changed.
    """

    source: str
    stream: str
    object: str
    record_id: str
    kind: str
    partner_ref: str | None
    status: str | None
    amount: Decimal | None
    currency: str | None
    occurred_on: date | None
    created_at: datetime | None
    closed_at: datetime | None
    attributes: dict[str, Any]
    source_modified_at: datetime | None
    deleted: bool
    content_hash: str

    def as_row(self) -> dict[str, Any]:
        """The columns of ``plans.store.ActivityRow``, less ``partner_id`` and ``stored_at``."""
        return {
            "source": self.source,
            "stream": self.stream,
            "object": self.object,
            "record_id": self.record_id,
            "kind": self.kind,
            "partner_ref": self.partner_ref,
            "status": self.status,
            "amount": self.amount,
            "currency": self.currency,
            "occurred_on": self.occurred_on,
            "created_at": self.created_at,
            "closed_at": self.closed_at,
            "attributes": self.attributes,
            "source_modified_at": self.source_modified_at,
            "deleted": self.deleted,
            "content_hash": self.content_hash,
        }


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that could not be mapped; it goes to quarantine whole, with field and reason."""

    source: str
    stream: str
    object: str
    record_id: str
    raw: dict[str, Any]
    field: str | None
    reason: str


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-safe")


def content_hash(
    kind: str,
    partner_ref: str | None,
    status: str | None,
    amount: Decimal | None,
    currency: str | None,
    occurred_on: date | None,
    created_at: datetime | None,
    closed_at: datetime | None,
    attributes: dict[str, Any],
    deleted: bool,
) -> str:
    """A stable 32-hex-digit hash of an activity's normalized content.

    Amounts are normalized (``100`` and ``100.00`` are the same money) and attribute keys sorted,
    so only a change a metric could see changes the hash.
    """
    payload = (
        kind,
        partner_ref,
        status,
        None if amount is None else str(amount.normalize()),
        currency,
        occurred_on,
        created_at,
        closed_at,
        attributes,
        deleted,
    )
    encoded = orjson.dumps(payload, default=_json_default, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()


def json_safe(value: Any) -> Any:
    """An attribute value as JSON: dates as ISO strings, Decimals as strings, lists kept."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return str(Decimal(repr(value)))
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return str(value)
