"""Record ids as each CRM spells them, derived from a record's index so they sort like the index.

Salesforce ids are 15 base-62 characters plus a 3-character case checksum (18 in all). Ours are
``<key prefix><pod "8d"><reserved "0"><index in 9 base-62 digits>``: the base-62 alphabet below is
in ASCII order, so comparing two ids of one object compares their indexes, which lets the store
keep "order by Id" and "order by index" the same thing. HubSpot ids are numeric strings: a
per-object base plus the index, all of one length so string and numeric order agree.
"""

from __future__ import annotations

from functools import lru_cache

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DIGIT = {c: n for n, c in enumerate(_BASE62)}
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_POD = "8d0"
_WIDTH = 9


def checksum(id15: str) -> str:
    """The 3-character suffix Salesforce appends to a 15-character id (one per 5-char chunk)."""
    suffix = ""
    for start in (0, 5, 10):
        bits = 0
        for position, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _CHECKSUM[bits]
    return suffix


@lru_cache(maxsize=1 << 16)
def sf_id(prefix: str, index: int) -> str:
    """The 18-character id of record ``index`` of the object whose key prefix is ``prefix``."""
    digits = []
    for _ in range(_WIDTH):
        index, digit = divmod(index, 62)
        digits.append(_BASE62[digit])
    id15 = prefix + _POD + "".join(reversed(digits))
    return id15 + checksum(id15)


@lru_cache(maxsize=1 << 16)
def sf_index(prefix: str, record_id: str) -> int | None:
    """The index encoded in ``record_id``, or None when it is not one of ``prefix``'s ids."""
    if len(record_id) == 15:
        record_id = record_id + checksum(record_id)
    if len(record_id) != 18 or not record_id.startswith(prefix + _POD):
        return None
    id15 = record_id[:15]
    if checksum(id15) != record_id[15:]:
        return None
    index = 0
    for char in id15[6:]:
        digit = _DIGIT.get(char)
        if digit is None:
            return None
        index = index * 62 + digit
    return index


def hs_id(base: int, index: int) -> str:
    """The numeric-string id of record ``index`` of a HubSpot object whose ids start at ``base``."""
    return str(base + index)


def hs_index(base: int, record_id: str) -> int | None:
    """The index encoded in a HubSpot id, or None when it is not one of this object's ids."""
    if not record_id.isdigit():
        return None
    index = int(record_id) - base
    return index if 0 <= index < 1_000_000_000 else None
