"""Golden tests: fixed raw Salesforce and HubSpot records map to exactly the recorded activities.

The raw records are ``tests/fixtures/samples/STREAM.json``; the expected output is
``tests/fixtures/samples/golden/STREAM.json``. After an intended change, refresh the goldens
with ``PARTNERPLAN_UPDATE_GOLDEN=1 .venv/bin/pytest tests/mappings/test_golden.py`` and review
the diff: it is the specification of what the shipped mappings do.
"""

from __future__ import annotations

import json
import os

import pytest

from mappings.activity import Activity, json_safe
from tests.mappings.conftest import SAMPLES

STREAMS = sorted(p.stem for p in SAMPLES.glob("*.json"))
GOLDEN = SAMPLES / "golden"


def _render(item):
    if isinstance(item, Activity):
        row = {k: json_safe(v) for k, v in item.as_row().items()}
        return {"activity": row}
    return {"rejection": {"record_id": item.record_id, "field": item.field, "reason": item.reason}}


@pytest.mark.parametrize("stream", STREAMS)
def test_sample_records_map_to_the_golden_activities(shipped, stream):
    """Each sample record of the stream becomes exactly the recorded activity or rejection."""
    raws = json.loads((SAMPLES / f"{stream}.json").read_text())
    actual = [_render(item) for item in shipped.stream(stream).map_many(raws)]
    path = GOLDEN / f"{stream}.json"
    if os.environ.get("PARTNERPLAN_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(actual, indent=2, sort_keys=True) + "\n")
    expected = json.loads(path.read_text())
    assert expected == actual


def test_every_shipped_stream_has_a_golden_sample(shipped):
    """No shipped stream goes untested by a golden sample."""
    assert sorted(shipped.streams) == STREAMS
