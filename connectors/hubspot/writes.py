"""Building HubSpot batch-write inputs and reading their 200 / 207 answers per record.

HubSpot answers a partly failed batch with 207: the records it wrote under ``results`` (in no
guaranteed order) and one entry per failure under ``errors``, naming the failed inputs in
``context.ids``. Each input is therefore matched by key, never by position, and an input the
answer does not account for is reported as failed rather than assumed written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from connectors.base import WriteResult

DUPLICATE = "the same key appears again later in this write; only its last values were sent"


def value(raw: Any) -> str:
    """A property value in HubSpot's string form (numbers exact, booleans lower-case)."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, Decimal):
        return format(raw, "f")
    if isinstance(raw, datetime):
        return raw.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(raw, date):
        return raw.isoformat()
    return str(raw)


def values(props: dict[str, Any]) -> dict[str, str]:
    """Every property value in HubSpot's string form."""
    return {name: value(raw) for name, raw in props.items()}


def upsert_inputs(
    key_field: str, records: Sequence[dict[str, Any]]
) -> list[tuple[str, dict[str, Any] | None]]:
    """One ``(key, input)`` per record; an earlier duplicate of a key gets ``None`` (not sent).

    HubSpot rejects a whole batch that names one key twice, so only the last values are sent.
    """
    last = {str(r.get(key_field, "")): index for index, r in enumerate(records)}
    out: list[tuple[str, dict[str, Any] | None]] = []
    for index, record in enumerate(records):
        key = str(record.get(key_field, ""))
        body = {"idProperty": key_field, "id": key, "properties": values(record)}
        out.append((key, body if last[key] == index else None))
    return out


def _failures(answer: dict[str, Any]) -> dict[str, str]:
    failed: dict[str, str] = {}
    for error in answer.get("errors") or []:
        reason = f"{error.get('category', 'ERROR')}: {error.get('message', '')}".strip()
        context = error.get("context") or {}
        for ids in context.values():
            for key in ids if isinstance(ids, list) else [ids]:
                failed.setdefault(str(key), reason)
    return failed


def write_results(
    batch: Sequence[tuple[str, dict[str, Any] | None]],
    answer: dict[str, Any],
    key_field: str | None,
) -> list[WriteResult]:
    """One :class:`WriteResult` per input of ``batch``, matched by key.

    Args:
        batch: ``(key, input)`` pairs as sent (``None`` inputs were not sent: duplicates).
        answer: HubSpot's decoded answer.
        key_field: The unique property of an upsert, or None for an update by record id.
    """
    written: dict[str, dict[str, Any]] = {}
    for result in answer.get("results") or []:
        key = (result.get("properties") or {}).get(key_field) if key_field else result.get("id")
        if key is not None:
            written[str(key)] = result
    failed = _failures(answer)
    general = next(iter(failed.values()), None)
    out: list[WriteResult] = []
    for key, body in batch:
        if body is None:
            out.append(WriteResult(key, False, error=DUPLICATE))
        elif key in written:
            result = written[key]
            created = result.get("new") if key_field else False
            out.append(WriteResult(key, True, str(result.get("id")), created))
        else:
            reason = failed.get(key) or general or "HubSpot's answer did not include this record"
            out.append(WriteResult(key, False, error=reason))
    return out
