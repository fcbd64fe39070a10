"""Issue 15 point 7: ``sandbox serve --data`` loads HubSpot records as a portal holds them.

A record's ``createdate`` / ``createdAt`` is when it was created (given by ``createdAt`` or the
created property), never its last change; ``archived: true`` puts it in the recycle bin.
"""

from __future__ import annotations

import pytest

from sandbox import Sandbox
from sandbox.dataset import DatasetError
from tests.sandbox.helpers import hs_get

CREATED, UPDATED = "2025-01-10T08:00:00Z", "2025-03-01T12:30:00.250Z"


def test_createdate_is_the_creation_not_the_last_change(make_sandbox):
    """createdAt sets createdate and createdAt; updatedAt sets the modified property."""
    sb: Sandbox = make_sandbox(
        data={
            "hubspot": {
                "deals": [
                    {
                        "properties": {"dealname": "D", "closedate": "2025-02-01T00:00:00Z"},
                        "createdAt": CREATED,
                        "updatedAt": UPDATED,
                    }
                ]
            }
        }
    )
    [deal] = sb.records("hubspot", "deals")
    props = deal["properties"]
    assert (CREATED, CREATED, UPDATED, UPDATED) == (
        deal["createdAt"],
        props["createdate"],
        deal["updatedAt"],
        props["hs_lastmodifieddate"],
    )
    assert props["createdate"] < props["closedate"]


def test_the_created_property_alone_sets_the_creation(make_sandbox):
    """Without createdAt, the record's own createdate (hs_createdate) property is used."""
    sb: Sandbox = make_sandbox(
        data={
            "hubspot": {
                "deal_registrations": [
                    {
                        "properties": {"registration_name": "R", "hs_createdate": CREATED},
                        "updatedAt": UPDATED,
                    }
                ]
            }
        }
    )
    [registration] = sb.records("hubspot", "deal_registrations")
    assert (CREATED, CREATED) == (
        registration["createdAt"],
        registration["properties"]["hs_createdate"],
    )


def test_a_record_loads_archived_and_only_the_archived_listing_shows_it(make_sandbox):
    """archived: true with archivedAt: in the recycle bin, listed only with archived=true."""
    sb: Sandbox = make_sandbox(
        data={
            "hubspot": {
                "deals": [
                    {"id": "501", "properties": {"dealname": "Live"}, "updatedAt": UPDATED},
                    {
                        "id": "502",
                        "properties": {"dealname": "Gone"},
                        "updatedAt": UPDATED,
                        "archived": True,
                        "archivedAt": "2025-03-02T00:00:00Z",
                    },
                ]
            }
        }
    )
    live = hs_get(sb, "/crm/v3/objects/deals")["results"]
    archived = hs_get(sb, "/crm/v3/objects/deals?archived=true")["results"]
    assert (["501"], ["502"]) == ([d["id"] for d in live], [d["id"] for d in archived])
    assert "2025-03-02T00:00:00Z" == archived[0]["archivedAt"]


def test_a_record_created_after_its_last_change_is_refused_naming_it(make_sandbox):
    """createdAt after updatedAt: a DatasetError naming the record's place in the file."""
    bad = {"properties": {"dealname": "D"}, "createdAt": UPDATED, "updatedAt": CREATED}
    with pytest.raises(DatasetError, match=r"hubspot\.deals\[0\]: createdAt .* is after"):
        make_sandbox(data={"hubspot": {"deals": [bad]}})
