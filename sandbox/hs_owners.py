"""The portal's owners (``GET /crm/v3/owners``): the users records can be assigned to.

Shape of the owners API v3 (``PublicOwner``): ``id`` (string), ``email``, ``type``
(``PERSON``), names, ``userId`` / ``userIdIncludingInactive`` (numbers), instants, ``archived``
and ``teams``. One channel manager per region plus a deactivated user (``archived=true``).
"""

from __future__ import annotations

from typing import Any

_TEAMS = {"NA": "1001", "EMEA": "1002", "APAC": "1003", "LATAM": "1004"}
_PEOPLE = (
    ("70000001", "Dana", "Whitfield", "NA", False),
    ("70000002", "Jonas", "Berg", "EMEA", False),
    ("70000003", "Mei", "Tanaka", "APAC", False),
    ("70000004", "Lucia", "Ramos", "LATAM", False),
    ("70000005", "Former", "Manager", "NA", True),
)


def _owner(owner_id: str, first: str, last: str, region: str, archived: bool) -> dict[str, Any]:
    user = 9_000_000 + int(owner_id) % 1000
    return {
        "id": owner_id,
        "email": f"{first.lower()}.{last.lower()}@vendor.example.com",
        "type": "PERSON",
        "firstName": first,
        "lastName": last,
        "userId": None if archived else user,
        "userIdIncludingInactive": user,
        "createdAt": "2024-01-05T09:00:00Z",
        "updatedAt": "2024-01-05T09:00:00Z",
        "archived": archived,
        "teams": [{"id": _TEAMS[region], "name": f"Channel {region}", "primary": True}],
    }


OWNERS: list[dict[str, Any]] = [_owner(*person) for person in _PEOPLE]
